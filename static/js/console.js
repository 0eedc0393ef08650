// Progressive enhancement only: every page works without this file.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copyTarget);
  if (!field) return;
  navigator.clipboard.writeText(field.value).then(() => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});

// Branding: preview the colour as it is picked, with its contrast against white (the
// server refuses below 4.5:1 on save; this only says so earlier).
(() => {
  const preview = document.getElementById("brand-preview");
  const input = preview && document.getElementById(preview.dataset.colourInput);
  const note = document.getElementById("contrast-note");
  if (!input) return;
  const luminance = (hex) => {
    const channels = [0, 2, 4].map((i) => parseInt(hex.slice(i + 1, i + 3), 16) / 255);
    const [r, g, b] = channels.map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const update = () => {
    if (!/^#[0-9a-fA-F]{6}$/.test(input.value)) return;
    const l = luminance(input.value);
    preview.style.setProperty("--brand", input.value);
    preview.style.setProperty("--brand-ink", l > 0.179 ? "#000000" : "#ffffff");
    const ratio = 1.05 / (l + 0.05);
    note.textContent = ratio >= 4.5
      ? `Contrast against white ${ratio.toFixed(2)}:1: readable.`
      : `Contrast against white ${ratio.toFixed(2)}:1: too light for text (at least 4.5:1 is needed).`;
  };
  input.addEventListener("input", update);
})();
