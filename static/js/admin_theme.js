// The admin follows the app's theme (the "theme" cookie the app's Light/Dark/Auto switch sets),
// not a choice of its own in localStorage; its own toggle sets the app's cookie too.
(function () {
  "use strict";
  const THEMES = ["light", "dark", "auto"];
  const YEAR = 365 * 24 * 3600;
  const chosen = document.currentScript.dataset.theme;
  if (THEMES.includes(chosen)) {
    document.documentElement.dataset.theme = chosen;
    localStorage.setItem("theme", chosen);
  }
  // The admin's theme.js cycles the theme on click (its listener is added first); this one runs after it.
  window.addEventListener("load", () => {
    document.querySelectorAll(".theme-toggle").forEach((button) =>
      button.addEventListener("click", () => {
        const now = localStorage.getItem("theme");
        if (THEMES.includes(now)) document.cookie = "theme=" + now + "; path=/; max-age=" + YEAR + "; SameSite=Lax";
      }),
    );
  });
})();
