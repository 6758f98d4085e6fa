// Tokens and cost by stage, over the range: the stages that used tokens, the costliest first.

import * as fmt from "../format.js";
import { $, el, fillTable, setNote } from "../dom.js";
import { RANGES, labelOf, metaLookup } from "../state.js";

export function render(state) {
  const meta = metaLookup(state.sites);
  const rows = state.data.bySite.groups
    .filter((g) => g.key.kind === "stage" && g.input_tokens + g.output_tokens > 0)
    .sort((a, b) => fmt.costOf(b) - fmt.costOf(a) || b.input_tokens - a.input_tokens)
    .map((g) =>
      el(
        "tr",
        {},
        el("td", { class: "wrap", text: labelOf(meta("stage", g.key.site)) }),
        el("td", { class: "num", text: fmt.compact(g.input_tokens) }),
        el("td", { class: "num", text: fmt.compact(g.output_tokens) }),
        el("td", { class: "num", text: fmt.cost(g) }),
      ),
    );
  setNote("stage-tokens", RANGES[state.range].label);
  fillTable($("stage-tokens-table"), rows, "No stage used tokens in this range.");
}
