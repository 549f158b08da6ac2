// "Copy" buttons: <button data-copy-from="ELEMENT-ID" data-copied-text=… data-failed-text=…>
// copies the text of that element, and says so in the .copy-status beside it.
// window.ctmCopy(button, text) is the same copy for other scripts (the
// backup codes' "Copy" copies the list of unused codes).
// A static file because the Content-Security-Policy forbids inline scripts;
// without JavaScript the button stays hidden and the text can be selected.
(function () {
  "use strict";

  function announce(button, text) {
    var status = button.parentNode.querySelector(".copy-status");
    if (status) { status.textContent = text; }
  }

  function copyWithSelection(text) {
    // Fallback for browsers without the async Clipboard API (or without a secure context).
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  function copyText(button, text) {
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

  function copyFrom(button) {
    var source = document.getElementById(button.getAttribute("data-copy-from"));
    copyText(button, source ? source.textContent.trim() : "");
  }

  window.ctmCopy = copyText;

  function init() {
    document.querySelectorAll("[data-copy-from]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { copyFrom(button); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
