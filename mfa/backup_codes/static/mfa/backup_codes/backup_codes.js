// Backup Codes: "Copy" and "Print" buttons. Loaded as a static file because the
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

  function init() {
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
