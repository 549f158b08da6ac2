/* "Resend code" countdown: the button waits out the resend cooldown.
   Loaded as a static file because the Content-Security-Policy forbids inline
   scripts. Without JavaScript the button stays usable and the server
   answers with the seconds left. */
(function () {
  "use strict";

  function start(form) {
    var seconds = parseInt(form.getAttribute("data-sms-cooldown"), 10) || 0;
    var button = form.querySelector("button[name=resend]");
    var text = form.querySelector("[data-sms-countdown-text]");
    var template = form.getAttribute("data-sms-countdown-template") || "{seconds}";
    if (!button || form.getAttribute("data-sms-countdown-started")) {
      return;
    }
    form.setAttribute("data-sms-countdown-started", "1");

    function tick() {
      // delivery.js ends the wait early when the text failed (its cooldown was given back).
      if (form.getAttribute("data-sms-cooldown-over")) {
        seconds = 0;
      }
      if (seconds <= 0) {
        button.disabled = false;
        if (text) {
          text.hidden = true;
        }
        return;
      }
      button.disabled = true;
      if (text) {
        text.hidden = false;
        text.textContent = template.replace("{seconds}", String(seconds));
      }
      seconds -= 1;
      window.setTimeout(tick, 1000);
    }

    tick();
  }

  function startAll() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-sms-cooldown]"), start);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startAll);
  } else {
    startAll();
  }
})();
