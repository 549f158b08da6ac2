// Settings > Parent Settings > Security: keep the "phishing-resistant only"
// shortcut and the method boxes in step. The server resolves the shortcut
// itself, so the page works the same without this script.
(function () {
  "use strict";
  var form = document.getElementById("security-policy");
  if (!form) { return; }
  var shortcut = form.querySelector("input[name=phishing_resistant_only]");
  var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=allowed_methods]"));
  var resistant = (form.getAttribute("data-phishing-resistant") || "").split(" ").filter(Boolean);
  if (!shortcut || !boxes.length) { return; }

  function matchesShortcut() {
    return resistant.length > 0 && boxes.every(function (box) {
      return box.checked === (resistant.indexOf(box.value) !== -1);
    });
  }
  shortcut.addEventListener("change", function () {
    if (shortcut.checked) {
      boxes.forEach(function (box) { box.checked = resistant.indexOf(box.value) !== -1; });
    }
  });
  boxes.forEach(function (box) {
    box.addEventListener("change", function () { shortcut.checked = matchesShortcut(); });
  });
})();
