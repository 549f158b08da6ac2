// Backup Codes: "Copy", "Print" and (on an administrator's page) "Download" buttons. Loaded as a static file because the
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

  function announce(button, text) {
    var status = button.parentNode.querySelector(".copy-status");
    if (status) { status.textContent = text; }
  }

  function copyWithSelection(text) {
    // Fallback for browsers without the async Clipboard API (or without a secure context).
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  function copy(button) {
    var text = unusedCodes().join("\n") + "\n";
    var done = function () { announce(button, button.getAttribute("data-copied-text")); };
    var failed = function () {
      if (copyWithSelection(text)) { done(); } else { announce(button, button.getAttribute("data-failed-text")); }
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, failed);
    } else {
      failed();
    }
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
