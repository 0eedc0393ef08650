// The result page of an install link opened as a popup from an allowed origin
// (`?popup=<origin>`): post the outcome to the opening page, at that origin only, and
// close the window. The page renders the message as a JSON element (the CSP allows no
// inline script). Without an opener (opened in a tab) the page stays as it is.
(() => {
  const element = document.getElementById("popup-message");
  if (!element || !window.opener) return;
  const popup = JSON.parse(element.textContent);
  window.opener.postMessage(popup.message, popup.origin);
  window.close();
})();
