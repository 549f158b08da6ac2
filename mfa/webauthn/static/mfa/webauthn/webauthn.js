// Passkeys and security keys: runs the browser's WebAuthn ceremony and posts its answer.
//
// The server renders the options as JSON (<script type="application/json">)
// and a form with a hidden field; this fills the field with the browser's
// answer and submits the form. No inline script, so the CSP holds. Without
// JavaScript the page's <noscript> says so; without WebAuthn this shows the
// page's [data-webauthn-unsupported] note and leaves the other methods.
(function () {
  "use strict";

  // What the status line says comes from the page (_support.html's [data-webauthn-messages]),
  // so it is in the page's language: data-<name> for each of these, "failed" for any other error.
  var ERRORS = {
    NotAllowedError: "not-allowed",
    InvalidStateError: "invalid-state",
    SecurityError: "security",
    AbortError: "abort",
    Unavailable: "unavailable"
  };

  function text(name) {
    var node = document.querySelector("[data-webauthn-messages]");
    return (node && node.getAttribute("data-" + name)) || "";
  }

  function toBytes(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer), binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) { return Object.assign({}, d, { id: toBytes(d.id) }); });
  }

  function creationOptions(json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    return Object.assign({}, json, {
      challenge: toBytes(json.challenge),
      user: Object.assign({}, json.user, { id: toBytes(json.user.id) }),
      excludeCredentials: descriptors(json.excludeCredentials)
    });
  }

  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    return Object.assign({}, json, {
      challenge: toBytes(json.challenge), allowCredentials: descriptors(json.allowCredentials)
    });
  }

  function answerJSON(credential) {
    if (credential.toJSON) return JSON.stringify(credential.toJSON());
    var r = credential.response, response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
    }
    return JSON.stringify({
      id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type, response: response,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults()
    });
  }

  function options(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function say(form, text) {
    var box = form.parentNode.querySelector("[data-webauthn-status]") ||
      document.querySelector("[data-webauthn-status]");
    if (!box) return;
    box.textContent = text;
    box.hidden = !text;
  }

  function failed(form, error) {
    say(form, text(ERRORS[error && error.name] || "failed") || text("failed"));
  }

  // Submit ``form`` with ``answer`` once the browser's ceremony produced it.
  function answer(form, field, credential) {
    field.value = answerJSON(credential);
    say(form, "");
    form.submit();
  }

  // The form's own submit runs the ceremony; buttons with a name of their
  // own ("Text me a code", another method) post as they are.
  function onPrimarySubmit(form, field, run) {
    form.addEventListener("submit", function (event) {
      if (field.value || (event.submitter && event.submitter.name)) return;
      event.preventDefault();
      run();
    });
  }

  // The buttons that would start a ceremony are disabled; the others (another
  // method, "Text me a code") have a name of their own and stay.
  function unsupported() {
    document.querySelectorAll("[data-webauthn-unsupported]").forEach(function (note) { note.hidden = false; });
    document.querySelectorAll("form[data-webauthn-register] button[type=submit], form[data-webauthn-sign-in] button")
      .forEach(function (button) { button.disabled = true; });
    if (!document.getElementById("webauthn-request-options")) return;
    document.querySelectorAll("input[data-browser-answer]").forEach(function (field) {
      field.form.querySelectorAll("button[type=submit]:not([name])").forEach(function (button) { button.disabled = true; });
    });
  }

  function setUpRegistration(form) {
    var field = form.querySelector("input[name=credential]");
    onPrimarySubmit(form, field, function () {
      var name = form.querySelector("input[name=name]");
      if (!name.value.trim()) { form.submit(); return; }  // the server says what is missing
      say(form, text("creating"));
      navigator.credentials.create({ publicKey: creationOptions(options("webauthn-creation-options")) })
        .then(function (credential) { answer(form, field, credential); }, function (error) { failed(form, error); });
    });
  }

  function setUpAssertion(field) {
    var form = field.form;
    onPrimarySubmit(form, field, function () {
      var password = form.querySelector("input[name=password]");
      if (password && !password.value) { say(form, text("password-first")); password.focus(); return; }
      say(form, text("using"));
      navigator.credentials.get({ publicKey: requestOptions(options("webauthn-request-options")) })
        .then(function (credential) { answer(form, field, credential); }, function (error) { failed(form, error); });
    });
  }

  // The sign-in page fetches its options (a fresh challenge) when they are
  // needed, so the page itself needs no session.
  function fetchOptions(form) {
    var body = new FormData();
    body.append("csrfmiddlewaretoken", form.querySelector("input[name=csrfmiddlewaretoken]").value);
    return fetch(form.dataset.optionsUrl, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw { name: "Unavailable" };
        return response.json();
      });
  }

  // The autofill's options request starts the session that holds its
  // challenge, and its answer sets the session cookie. A password sign-in
  // posted before that answer came back starts a session of its own, and the
  // later of the two cookies wins: if it was the options', the sign-in lost
  // its step 2 ("Sign-in expired"). A password manager that submits the form
  // the moment the page loads does exactly that. So the password form waits
  // for the options request (a few seconds at most) and then goes with its
  // cookie, and no options request starts once the form has gone.
  var OPTIONS_WAIT_MS = 3000;

  function holdWhileOptionsLoad(passwordForm, options) {
    var waiting = false;
    passwordForm.addEventListener("submit", function (event) {
      options.passwordSent = true;
      if (waiting) { event.preventDefault(); return; }  // a second click: the form goes once, below
      if (!options.request) return;
      event.preventDefault();
      waiting = true;
      var answered = options.request.then(null, function () {});  // a failed request lets the form go too
      var waitOver = new Promise(function (resolve) { setTimeout(resolve, OPTIONS_WAIT_MS); });
      Promise.race([answered, waitOver]).then(function () {  // whichever comes first, once
        passwordForm.submit();  // submit(), not requestSubmit(): no second submit event
      });
    });
  }

  function setUpSignIn(form) {
    var field = form.querySelector("input[data-browser-answer]");
    var email = document.querySelector("input[autocomplete~=username]");
    var autofill = null;
    var autofillOptions = { request: null, passwordSent: false };  // the request while it is on its way
    if (email && email.form && email.form !== form) holdWhileOptionsLoad(email.form, autofillOptions);
    // The browser's passkey autofill on the email field (conditional mediation).
    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (!available || !email || autofillOptions.passwordSent) return;
        email.setAttribute("autocomplete", "username webauthn");
        var settled = function () { autofillOptions.request = null; };
        autofillOptions.request = fetchOptions(form);
        autofillOptions.request.then(settled, settled);
        return autofillOptions.request.then(function (json) {
          autofill = new AbortController();
          return navigator.credentials.get({ publicKey: requestOptions(json), mediation: "conditional",
                                             signal: autofill.signal });
        }).then(function (credential) { if (credential) answer(form, field, credential); });
      }).catch(function () { /* aborted, dismissed or unavailable: the button still works */ });
    }
    onPrimarySubmit(form, field, function () {
      if (autofill) { autofill.abort(); autofill = null; }  // one WebAuthn request at a time
      say(form, text("signing-in"));
      fetchOptions(form).then(function (json) {
        return navigator.credentials.get({ publicKey: requestOptions(json) });
      }).then(function (credential) { answer(form, field, credential); }, function (error) { failed(form, error); });
    });
  }

  function start() {
    if (document.documentElement.dataset.webauthnReady) return;  // the script may be included twice
    document.documentElement.dataset.webauthnReady = "1";
    if (!window.PublicKeyCredential || !navigator.credentials) { unsupported(); return; }
    document.querySelectorAll("form[data-webauthn-register]").forEach(setUpRegistration);
    document.querySelectorAll("form[data-webauthn-sign-in]").forEach(setUpSignIn);
    document.querySelectorAll("input[data-browser-answer]").forEach(function (field) {
      if (!field.form.hasAttribute("data-webauthn-sign-in") && document.getElementById("webauthn-request-options")) {
        setUpAssertion(field);
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
