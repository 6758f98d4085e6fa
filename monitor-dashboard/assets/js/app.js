// The page's one script: it loads the dashboard's modules (`main.js` and what it imports).
//
// This file is named by a query on the page's own URL, `?asset=app.js`, which resolves from
// both `/admin` and `/admin/` (see src/page.rs). The modules cannot be: they import one another
// by relative paths, and `./format.js` beside `/admin?asset=main.js` is `/format.js`. So the
// entry module is loaded from the router's own `/assets/` path, computed as api.js computes the
// API's base, where `./format.js` and `../format.js` resolve to the files beside it.
const base = location.pathname.replace(/\/+$/, "");

import(base + "/assets/main.js").catch((error) => {
  document.body.dataset.modules = "failed";
  const banner = document.getElementById("banner");
  banner.textContent = `The page's scripts did not load (${error.message}); reload the page.`;
  banner.hidden = false;
});
