/* Open a Hatchway install link as a popup from your own page and receive its outcome.
 *
 *   <script src="https://<hatchway>/static/hatchway-popup.js"></script>
 *   button.addEventListener("click", () => {
 *     Hatchway.openInstall(linkUrl, {
 *       onMessage: (m) => { ... },  // {event, connector, install, account}
 *       onClose: () => { ... },     // closed (or cut off) without a message; optional
 *     });
 *   });
 *
 * `event` is "install.completed", "install.cancelled" or "install.failed". The popup
 * posts only to `origin` (default: this page's origin), and only when that origin is one
 * of your allowed return URLs in Branding. Messages from any other origin or window are
 * ignored. Call it from a click, or the browser blocks the popup. No dependencies.
 */
(() => {
  const EVENTS = ["install.completed", "install.cancelled", "install.failed"];

  function openInstall(url, options = {}) {
    const link = new URL(url, window.location.href);
    const linkOrigin = link.origin;  // the only origin a message is taken from
    link.searchParams.set("popup", options.origin || window.location.origin);
    const popup = window.open(link.href, "", options.features || "popup,width=520,height=720");
    if (!popup) return null;
    let done = false;
    const receive = (event) => {
      const data = event.data;
      if (event.origin !== linkOrigin || event.source !== popup || !data) return;
      if (done || !EVENTS.includes(data.event)) return;
      done = true;
      if (options.onMessage) options.onMessage(data);
    };
    window.addEventListener("message", receive);
    const timer = setInterval(() => {
      if (!popup.closed) return;
      clearInterval(timer);
      setTimeout(() => {  // a message posted just before closing may still be queued
        window.removeEventListener("message", receive);
        if (!done && options.onClose) options.onClose();
      }, 300);
    }, 500);
    return popup;
  }

  window.Hatchway = Object.assign(window.Hatchway || {}, { openInstall });
})();
