// Error patterns: the errors since the start, grouped by what their messages have in common.

import * as fmt from "../format.js";
import { $, el, fillTable, setText, siteCell } from "../dom.js";
import { unixSecs } from "../api.js";
import { passes } from "../state.js";

export function render(state) {
  const { patterns, dropped } = state.data.errors;
  const shown = patterns.filter((p) => passes(state.filters, p.site));
  const rows = shown
    .slice(0, 100)
    .map((p) =>
      el(
        "tr",
        { "data-site-id": p.site.id },
        siteCell(p.site),
        el(
          "td",
          { class: "mono wrap", title: p.example },
          p.pattern,
          el("div", { class: "muted", text: p.error_type }),
        ),
        el("td", { class: "num bad", text: fmt.count(p.count) }),
        el("td", { class: "muted", text: fmt.ago(unixSecs(p.last_seen)) }),
      ),
    );
  fillTable($("errors-table"), rows, "No errors recorded.");
  setText(
    "errors-note",
    `${shown.length} patterns since start` + (dropped ? ` · ${fmt.count(dropped)} not grouped` : ""),
  );
}
