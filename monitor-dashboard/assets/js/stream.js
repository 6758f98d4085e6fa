// The live stream of collector ticks, `/api/stream`.
//
// The stream needs the bearer header, which EventSource cannot send: it is read with fetch and
// its Server-Sent Events frames parsed here.

import { apiUrl, authHeaders, HttpError } from "./api.js";

/** Follows the stream until the returned controller aborts, reconnecting with a growing wait:
 *  `on.open()` once connected, `on.tick(tick)` for each tick, `on.retry(delayMs)` when dropped or
 *  refused (before waiting that long), `on.unauthorized(error)` on a 401, which ends it. */
export function follow(on) {
  const controller = new AbortController();
  run(controller.signal, on);
  return controller;
}

async function run(signal, on) {
  let delayMs = 1000;
  while (!signal.aborted) {
    try {
      const response = await fetch(apiUrl("/api/stream"), {
        headers: { Accept: "text/event-stream", ...authHeaders() },
        cache: "no-store",
        credentials: "omit",
        signal,
      });
      if (response.status === 401) {
        on.unauthorized(new HttpError(401, await response.json().catch(() => null)));
        return;
      }
      if (!response.ok || !response.body) throw new Error(`stream: HTTP ${response.status}`);
      delayMs = 1000;
      on.open();
      await readEvents(response.body, (event, data) => {
        if (event === "tick") on.tick(JSON.parse(data));
      });
    } catch (error) {
      if (signal.aborted) return;
    }
    on.retry(delayMs);
    await sleep(delayMs, signal);
    delayMs = Math.min(delayMs * 2, 30000);
  }
}

/** Waits `ms`, or less if `signal` aborts. */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/** Calls `onEvent(event, data)` for each event of an SSE body, until it ends. */
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let carriage = false; // a chunk ended in "\r": a "\n" starting the next belongs to it
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    let text = value;
    if (carriage && text.startsWith("\n")) text = text.slice(1);
    carriage = text.endsWith("\r");
    buffer += text.replace(/\r\n?/g, "\n");
    // An event ends at a blank line.
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of frame.split("\n")) {
        if (line === "" || line.startsWith(":")) continue; // a comment: keep-alive
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let fieldValue = colon < 0 ? "" : line.slice(colon + 1);
        if (fieldValue.startsWith(" ")) fieldValue = fieldValue.slice(1);
        if (field === "event") event = fieldValue;
        else if (field === "data") data.push(fieldValue);
      }
      if (data.length > 0) onEvent(event, data.join("\n"));
    }
  }
}
