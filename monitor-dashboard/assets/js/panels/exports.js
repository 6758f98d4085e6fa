// Exports: whether what the process records is leaving it, each pushing exporter's figures.

import * as fmt from "../format.js";
import { $, el } from "../dom.js";

export function render(state) {
  const exports = (state.data.exports && state.data.exports.exports) || [];
  const list = $("exports-list");
  if (exports.length === 0) {
    list.replaceChildren(
      el("span", { class: "muted", text: "No pushing exporter running: the data leaves only through /metrics." }),
    );
    return;
  }
  list.replaceChildren(
    ...exports.map((e) => {
      const failing = e.failed_attempts > 0 && (!e.last_success_ms || e.queued > 0);
      return el(
        "span",
        { class: "chip", "data-exporter": e.exporter, "data-failing": String(failing) },
        `${e.exporter} → ${e.endpoint} `,
        el("b", { text: `${fmt.count(e.sent)} sent` }),
        ` · ${fmt.count(e.failed_attempts)} failed attempts · ${fmt.count(e.dropped)} dropped · ` +
          `${fmt.count(e.rejected)} rejected · ${fmt.count(e.queued)} queued · last success ` +
          (e.last_success_ms ? fmt.ago(e.last_success_ms / 1000) : "never") +
          (e.last_error ? ` · last error: ${e.last_error}` : ""),
      );
    }),
  );
}
