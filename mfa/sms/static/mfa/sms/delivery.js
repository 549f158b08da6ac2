/* "Sending…" -> "Sent." or "We could not send the text: …" without a reload.
   The text is sent by a worker after the page was served, so the page asks
   the status URL until the text is sent or has failed. Without JavaScript a
   refresh shows the same state (the server renders it). */
(function () {
  "use strict";

  var POLL_MS = 1500;
  var MAX_POLLS = 240; // stop after ~6 minutes: a code is valid for 5

  function poll(element) {
    var url = element.getAttribute("data-sms-status-url");
    var polls = 0;
    if (!url || element.getAttribute("data-sms-delivery-state") !== "sending") {
      return;
    }

    function show(state, message) {
      element.setAttribute("data-sms-delivery-state", state);
      element.textContent = message;
      if (state === "sent") {
        each("[data-sms-when-sent]", function (notice) {
          notice.textContent = notice.getAttribute("data-sms-when-sent");
        });
      }
      if (state === "failed") {
        element.className = "form-errors sms-delivery";
        element.setAttribute("role", "alert");
        each("[data-sms-hide-when-failed], [data-sms-when-sent]", function (stale) { stale.hidden = true; });
        // A failed text gave its cooldown back: "Resend code" works at once.
        each("[data-sms-cooldown]", function (form) { form.setAttribute("data-sms-cooldown-over", "1"); });
      }
    }

    function ask() {
      polls += 1;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (status) {
          if (status && status.state && status.state !== "none") {
            show(status.state, status.message);
          }
          if ((!status || status.state === "sending") && polls < MAX_POLLS) {
            window.setTimeout(ask, POLL_MS);
          }
        })
        .catch(function () {
          if (polls < MAX_POLLS) {
            window.setTimeout(ask, POLL_MS * 2);
          }
        });
    }

    window.setTimeout(ask, POLL_MS / 3);
  }

  function each(selector, action) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), action);
  }

  function startAll() {
    each("[data-sms-status-url]", poll);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startAll);
  } else {
    startAll();
  }
})();
