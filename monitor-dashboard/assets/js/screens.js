// What the page is showing: loading, the token form or the dashboard; the banner over them; and
// the connection status in the top bar.

import { $, setText } from "./dom.js";

/** The token form, with `errorText` above it when a token was refused. */
export function showAuth(errorText) {
  $("loading").hidden = true;
  $("dashboard").hidden = true;
  $("auth").hidden = false;
  $("sign-out").hidden = true;
  clearBanner();
  const error = $("auth-error");
  error.textContent = errorText;
  error.hidden = !errorText;
  setStatus("unauthorized", errorText ? "Token refused" : "Token needed");
  $("token-input").value = "";
  $("token-input").focus();
}

/** The form's own complaint, before anything is sent. */
export function showAuthError(text) {
  const error = $("auth-error");
  error.textContent = text;
  error.hidden = false;
}

/** Loading, after a token was entered. */
export function showLoading() {
  $("auth").hidden = true;
  $("loading").hidden = false;
}

/** The dashboard, with a sign-out button when there is a token to forget. */
export function showDashboard(signedIn) {
  $("loading").hidden = true;
  $("auth").hidden = true;
  $("dashboard").hidden = false;
  $("sign-out").hidden = !signedIn;
}

/** Whether the token form is up. */
export const askingForToken = () => !$("auth").hidden;

export function showBanner(text) {
  const banner = $("banner");
  banner.textContent = text;
  banner.hidden = false;
}

export function clearBanner() {
  $("banner").hidden = true;
}

/** The status in the top bar; `kind` is also the body's `data-status`, for styles and tests. */
export function setStatus(kind, text) {
  $("status").dataset.state = kind;
  document.body.dataset.status = kind;
  setText("status-text", text);
}
