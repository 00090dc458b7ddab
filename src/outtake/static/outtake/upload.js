// The creator's uploader: Uppy's Dashboard sending files over tus to /uploads/.
// The page puts the endpoint and a session-bound, upload-only bearer token on #uploader.
(function () {
  "use strict";
  var target = document.getElementById("uploader");
  if (!target || !window.Uppy) return;

  // The creator attests owning each file before it is sent: a checkbox the page puts next to
  // the uploader. Unattested files are not offered to buyers, so nothing is sent without it.
  var attest = target.dataset.attest && document.querySelector(target.dataset.attest);

  var uppy = new Uppy.Uppy({
    autoProceed: false,
    onBeforeUpload: function (files) {
      if (!attest || !attest.checked) {
        uppy.info("Tick the ownership statements above first.", "error", 5000);
        if (attest) attest.focus();
        return false;
      }
      var attested = {};
      Object.keys(files).forEach(function (id) {
        attested[id] = Object.assign({}, files[id], {
          meta: Object.assign({}, files[id].meta, { attest: "1" }),
        });
      });
      return attested;
    },
  })
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
      // The server reads `filename` and `attest`; nothing else about the file leaves the browser.
      allowedMetaFields: ["filename", "filetype", "attest"],
    });

  uppy.on("file-added", function (file) {
    uppy.setFileMeta(file.id, { filename: file.name, filetype: file.type || "" });
  });
  // Each finished upload is an asset now: refresh the list (it then polls while processing).
  uppy.on("upload-success", function () {
    if (window.htmx) htmx.trigger(document.body, "assets-changed");
  });
})();
