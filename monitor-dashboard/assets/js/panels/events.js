// Recent failures and slow calls: the newest calls the server kept, filtered by kind, pipeline
// and site as the rest of the page is. A call that was part of a traced run links to it.

import * as fmt from "../format.js";
import { $, el, fillTable, setText, siteCell } from "../dom.js";
import { openRun } from "./runs.js";

/** Rows of the table: a screenful to scroll, small enough to read again every refresh. */
export const EVENTS_SHOWN = 50;
const REASON_NAMES = { failed: "failed", outlier: "slow outlier", sampled: "sampled" };
const OUTCOME_NAMES = { ok: "ok", error: "error", client_error: "client error" };

/** A button that opens the call's run in the Runs panel's waterfall; "–" outside a run. */
function runLink(traceId) {
  if (!traceId) return "–";
  const button = el("button", {
    type: "button",
    class: "link mono",
    "data-field": "run",
    "data-trace-id": traceId,
    title: `Open the run (trace ${traceId})`,
    text: "run " + traceId.slice(0, 8) + "…",
  });
  button.addEventListener("click", () => openRun(traceId));
  return button;
}

export function render(state) {
  const answer = state.data.events;
  if (!answer) {
    fillTable($("events-table"), [], "Events could not be read from this server.");
    setText("events-note", "");
    return;
  }
  const rows = answer.events.map((e) =>
    el(
      "tr",
      { "data-site-id": e.site.id, "data-reason": e.reason, "data-outcome": e.outcome },
      el("td", { title: new Date(e.at * 1000).toLocaleString(), text: fmt.clock(e.at, true) }),
      siteCell(e.site),
      el(
        "td",
        {},
        el("span", { class: "reason", "data-reason": e.reason, text: REASON_NAMES[e.reason] || e.reason }),
      ),
      el("td", { class: e.outcome === "error" ? "bad" : null, text: OUTCOME_NAMES[e.outcome] || e.outcome }),
      el("td", { class: "num", text: e.status == null ? "–" : String(e.status) }),
      el("td", { class: "num", text: fmt.duration(e.duration_secs) }),
      el("td", { class: "num", text: `${fmt.bytes(e.request_bytes)} / ${fmt.bytes(e.response_bytes)}` }),
      el("td", { class: "mono muted wrap", text: e.error_type || "" }),
      el("td", { class: "mono wrap", "data-field": "message", text: e.error_message || "" }),
      el("td", {}, runLink(e.trace_id)),
    ),
  );
  fillTable($("events-table"), rows, "No failed, slow or sampled call kept.");
  setText(
    "events-note",
    `newest ${rows.length} of ${fmt.count(answer.matched)} kept` +
      (answer.evicted ? ` · ${fmt.count(answer.evicted)} older ones dropped` : ""),
  );
}
