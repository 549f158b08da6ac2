// The top bar's menus (Account Details, Settings) are <details class="menu">:
// they open and close without JavaScript. This adds what a person expects of
// a menu: Escape closes it (focus goes back to its button), as do a click
// elsewhere and opening the other menu.
// A static file because the Content-Security-Policy forbids inline scripts.
(function () {
  "use strict";

  function openMenus() {
    return Array.prototype.slice.call(document.querySelectorAll("details.menu[open]"));
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    openMenus().forEach(function (menu) {
      var hadFocus = menu.contains(document.activeElement);
      menu.open = false;
      if (hadFocus) { menu.querySelector("summary").focus(); }
    });
  });

  document.addEventListener("click", function (event) {
    openMenus().forEach(function (menu) {
      if (!menu.contains(event.target)) { menu.open = false; }
    });
  });
}());
