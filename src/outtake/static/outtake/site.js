// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Sign-up: the ownership attestation only concerns creators.
  function syncRole() {
    var checked = document.querySelector('input[name="role"]:checked');
    document.querySelectorAll("[data-for-role]").forEach(function (el) {
      el.hidden = !!checked && el.getAttribute("data-for-role") !== checked.value;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.name === "role") syncRole();
  });
  document.addEventListener("DOMContentLoaded", syncRole);
})();
