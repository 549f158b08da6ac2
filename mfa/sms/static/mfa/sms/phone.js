/* The mobile number's placeholder follows the country chosen beside it: each
   option carries its country's example number (data-example). A static file,
   as the Content-Security-Policy forbids inline scripts; without it the
   placeholder stays the preselected country's. */
(function () {
  "use strict";

  function follow(fields) {
    var country = fields.querySelector("select");
    var number = fields.querySelector("input[type=tel]");
    if (!country || !number) {
      return;
    }
    country.addEventListener("change", function () {
      var option = country.options[country.selectedIndex];
      number.placeholder = (option && option.getAttribute("data-example")) || "";
    });
  }

  document.querySelectorAll("[data-sms-phone]").forEach(follow);
}());
