// The creator's uploader: Uppy's Dashboard sending files over tus to /uploads/.
// The page puts the endpoint and a session-bound, upload-only bearer token on #uploader.
(function () {
  "use strict";
  var target = document.getElementById("uploader");
  if (!target || !window.Uppy) return;

  var uppy = new Uppy.Uppy({ autoProceed: false })
    .use(Uppy.Dashboard, {
      inline: true,
      target: target,
      width: "100%",
      height: 320,
      proudlyDisplayPoweredByUppy: false,
      note: "Video and photo files. Original names stay private.",
    })
    .use(Uppy.Tus, {
      endpoint: target.dataset.endpoint,
      headers: { Authorization: "Bearer " + target.dataset.token },
      chunkSize: 8 * 1024 * 1024,
      retryDelays: [0, 1000, 3000, 5000, 10000],
      removeFingerprintOnSuccess: true,
      // The server reads `filename`; nothing else about the file leaves the browser.
      allowedMetaFields: ["filename", "filetype"],
    });

  uppy.on("file-added", function (file) {
    uppy.setFileMeta(file.id, { filename: file.name, filetype: file.type || "" });
  });
  // Each finished upload is an asset now: refresh the list (it then polls while processing).
  uppy.on("upload-success", function () {
    if (window.htmx) htmx.trigger(document.body, "assets-changed");
  });
})();
