// Passkeys (WebAuthn): a button with data-passkey="register" or "login", data-begin and
// data-complete URLs, inside a form holding the CSRF token. A form marked data-passkey-offer
// is hidden in the page and shown only where the browser supports WebAuthn (and its JSON). The server's options and the
// browser's answer travel as WebAuthn's own JSON (parse…FromJSON / toJSON).
(function () {
  "use strict";
  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"X-CSRFToken": csrf, "Content-Type": "application/json"},
      body: JSON.stringify(body || {})
    }).then(function (r) { return r.json(); });
  }
  var supported = window.PublicKeyCredential &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function";
  if (supported) {
    document.querySelectorAll("[data-passkey-offer]").forEach(function (offer) {
      offer.hidden = false;
    });
  }
  document.querySelectorAll("[data-passkey]").forEach(function (button) {
    button.addEventListener("click", async function (event) {
      event.preventDefault();
      var form = button.closest("form");
      var csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
      var status = form.querySelector("[data-passkey-status]");
      try {
        var options = await post(button.dataset.begin, csrf);
        if (options.error) { throw new Error(options.error); }
        var credential = button.dataset.passkey === "register"
          ? await navigator.credentials.create({publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey)})
          : await navigator.credentials.get({publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey)});
        var result = await post(button.dataset.complete, csrf, credential.toJSON());
        if (result.redirect) { window.location.assign(result.redirect); return; }
        throw new Error(result.error || "The passkey was not accepted.");
      } catch (error) {
        if (status) { status.textContent = error.message || "The passkey was not accepted."; }
      }
    });
  });
})();
