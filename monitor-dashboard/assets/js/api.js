// The JSON API next to the page: its URLs, the token, the errors, and the server's clock.

// The router may be nested under any prefix, with or without a trailing slash:
// "/admin" and "/admin/" both give "/admin"; "/" gives "" (served at the root).
export const BASE = location.pathname.replace(/\/+$/, "");

/** The URL of an API path with the given query parameters (empty ones left out). */
export function apiUrl(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, value);
  }
  const text = query.toString();
  return BASE + path + (text ? "?" + text : "");
}

// ---- The token -----------------------------------------------------------------------------------

// Kept in the tab's session storage: gone when the tab closes, never sent anywhere but here.
const TOKEN_KEY = "monitor-dashboard-token";
let memoryToken = "";

export const token = {
  get() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || "";
    } catch {
      return "";
    }
  },
  set(value) {
    try {
      sessionStorage.setItem(TOKEN_KEY, value);
    } catch {
      // Storage refused (private mode): the token lives as long as this page instead.
    }
    memoryToken = value;
  },
  clear() {
    try {
      sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // Nothing stored.
    }
    memoryToken = "";
  },
  current() {
    return this.get() || memoryToken;
  },
};

/** An answer other than 2xx, with the API's `{error, message}` body when there is one. */
export class HttpError extends Error {
  constructor(status, body) {
    super((body && body.message) || `the server answered HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** The server could not be reached at all. */
export class NetworkError extends Error {}

export function authHeaders() {
  const value = token.current();
  return value ? { Authorization: "Bearer " + value } : {};
}

/** GETs an API path and parses its JSON; throws HttpError for a non-2xx answer. */
export async function getJson(path, params) {
  let response;
  try {
    response = await fetch(apiUrl(path, params), {
      headers: { Accept: "application/json", ...authHeaders() },
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    throw new NetworkError(String(error));
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) throw new HttpError(response.status, body);
  learnClock(response.headers.get("Date"));
  return body;
}

/** Like getJson, but a failure other than 401 gives `fallback`: one panel's data missing
 *  should not blank the others. */
export async function getOptional(path, fallback, params) {
  try {
    return await getJson(path, params);
  } catch (error) {
    if (error instanceof HttpError && error.status === 401) throw error;
    return fallback;
  }
}

// ---- The server's clock --------------------------------------------------------------------------

// Queries name their time span in the server's clock, aligned to whole points, so that the
// points hold the same seconds the ticks do. The skew is learnt from the `Date` header (to the
// second) and, more closely, from each tick's time.
let clockSkew = 0;
let clockKnown = false;

export function serverNow() {
  return Date.now() / 1000 + clockSkew;
}

function learnClock(dateHeader) {
  const server = dateHeader ? Date.parse(dateHeader) / 1000 : NaN;
  if (!isFinite(server)) return;
  // The header is truncated to the second: keep a closer estimate unless this one disagrees.
  const skew = server + 0.5 - Date.now() / 1000;
  if (!clockKnown || Math.abs(skew - clockSkew) > 1.5) {
    clockSkew = skew;
    clockKnown = true;
  }
}

/** A tick stamped `at` (server time, Unix seconds) arrived at `receivedMs` (this browser's). */
export function learnClockFromTick(at, receivedMs) {
  clockSkew = at - receivedMs / 1000;
  clockKnown = true;
}

// ---- Times as the API sends them -----------------------------------------------------------------

/** A time as Unix seconds: the API sends plain numbers, or serde's SystemTime
 *  `{secs_since_epoch, nanos_since_epoch}`. */
export function unixSecs(time) {
  if (time == null) return null;
  if (typeof time === "number") return time;
  return (time.secs_since_epoch || 0) + (time.nanos_since_epoch || 0) / 1e9;
}

/** When a tick's period began, in Unix seconds. */
export function tickStart(tick) {
  return unixSecs(tick.at) - (tick.period || 0);
}
