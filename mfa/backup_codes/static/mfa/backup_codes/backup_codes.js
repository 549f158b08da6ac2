// Backup Codes: "Copy", "Print" and (on an administrator's page) "Download" buttons; the copying
// itself is ctm_auth/js/copy.js's, loaded first. Loaded as a static file because the
// Content-Security-Policy forbids inline scripts. Without JavaScript the buttons
// stay hidden and "Download" still works.
(function () {
  "use strict";

  function unusedCodes() {
    return Array.prototype.map.call(
      document.querySelectorAll("[data-backup-code]"),
      function (el) { return el.textContent.trim(); }
    );
  }

  function copy(button) {
    window.ctmCopy(button, unusedCodes().join("\n") + "\n");  // static/ctm_auth/js/copy.js
  }

  function download(button) {
    // The file's text is on the page already (an element named by data-download-source),
    // so the download needs no request that would carry the codes again.
    var source = document.getElementById(button.getAttribute("data-download-source"));
    if (!source) { return; }
    var url = URL.createObjectURL(new Blob([source.textContent], { type: "text/plain;charset=utf-8" }));
    var link = document.createElement("a");
    link.href = url;
    link.download = button.getAttribute("data-filename") || "backup-codes.txt";
    link.className = "offscreen";
    document.body.appendChild(link);
    link.click();
    document.body.removeChild(link);
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  function init() {
    document.querySelectorAll("[data-download-codes]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { download(button); });
    });
    document.querySelectorAll("[data-copy-codes]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { copy(button); });
    });
    document.querySelectorAll("[data-print-codes]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
