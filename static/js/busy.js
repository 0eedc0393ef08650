// Progressive enhancement only: the console and install pages work without it.
// Slow actions (Test connection, Save and authenticate, Send test event, Connect): once a
// form is on its way, its button says it is busy and cannot be pressed twice. Disabled
// after the submit event, so the button's own name and value still go with the form.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (!button || !button.dataset.busy || event.defaultPrevented) return;
  setTimeout(() => {
    button.dataset.label = button.textContent;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    button.textContent = button.dataset.busy;
  }, 0);
});
// Back to a page kept in the browser's cache: its buttons work again.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  for (const button of document.querySelectorAll("button[aria-busy=true]")) {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = button.dataset.label;
  }
});
