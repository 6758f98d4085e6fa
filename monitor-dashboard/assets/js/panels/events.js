// Recent failures and slow calls: the newest calls the server kept, filtered by kind, pipeline
// and site as the rest of the page is.

import * as fmt from "../format.js";
import { $, el, fillTable, setText, siteCell } from "../dom.js";

/** Rows of the table: a screenful to scroll, small enough to read again every refresh. */
export const EVENTS_SHOWN = 50;
const REASON_NAMES = { failed: "failed", outlier: "slow outlier", sampled: "sampled" };
const OUTCOME_NAMES = { ok: "ok", error: "error", client_error: "client error" };

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
    ),
  );
  fillTable($("events-table"), rows, "No failed, slow or sampled call kept.");
  setText(
    "events-note",
    `newest ${rows.length} of ${fmt.count(answer.matched)} kept` +
      (answer.evicted ? ` · ${fmt.count(answer.evicted)} older ones dropped` : ""),
  );
}
