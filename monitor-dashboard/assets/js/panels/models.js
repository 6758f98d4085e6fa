// Models: each model's tokens of every kind with their cost, the bar of their shares, and its
// streams' time to first chunk and per output chunk.

import * as fmt from "../format.js";
import { $, el, fillTable, stackBar, swatch } from "../dom.js";

/** The five kinds of tokens, each in exactly one: how `/api/models` names their counts and
 *  costs. Input and output exclude their parts (cache reads and writes, reasoning). */
const TOKEN_KINDS = [
  { kind: "input", label: "Input", colour: "#2f6fed" },
  { kind: "cached_input", label: "Cached input", colour: "#15976b" },
  { kind: "cache_write", label: "Cache write", colour: "#d99206" },
  { kind: "output", label: "Output", colour: "#8b5cf6" },
  { kind: "reasoning", label: "Reasoning", colour: "#db2777" },
];

/** A model's tokens of each kind of TOKEN_KINDS. */
function tokensByKind(m) {
  const cached = m.cached_input_tokens || 0;
  const written = m.cache_write_tokens || 0;
  const reasoning = m.reasoning_tokens || 0;
  return {
    input: Math.max(0, (m.input_tokens || 0) - cached - written),
    cached_input: cached,
    cache_write: written,
    output: Math.max(0, (m.output_tokens || 0) - reasoning),
    reasoning,
  };
}

/** The calls that reported no usage (failed, cut off before their usage, or never asked for
 *  it), whose tokens and cost are unknown rather than zero; nothing when every call reported. */
function unknownUsage(m) {
  const unknown = (m.calls || 0) - (m.token_calls || 0);
  if (unknown <= 0) return null;
  return el("span", {
    class: "sub",
    "data-field": "unknown_usage",
    title: "calls that reported no usage: their tokens and cost are unknown",
    text: `${fmt.count(unknown)} without usage`,
  });
}

/** Two durations as "p50 / p99", or "–" without streamed calls. */
function timingPair(streamed, p50, p99) {
  return streamed > 0 ? `${fmt.duration(p50)} / ${fmt.duration(p99)}` : "–";
}

export function render(state) {
  const legend = $("kinds-legend");
  if (!legend.childElementCount) {
    legend.replaceChildren(...TOKEN_KINDS.map((k) => el("span", {}, swatch(k.colour), k.label)));
  }
  const models = state.data.models.models || [];
  fillTable($("models-table"), models.map(modelRow), "No model has been called.");
}

function modelRow(m) {
  const tokens = tokensByKind(m);
  const total = TOKEN_KINDS.reduce((sum, k) => sum + tokens[k.kind], 0);
  const mix = stackBar(
    { class: "stack mix", role: "img", "aria-label": `${m.model}: tokens by kind` },
    TOKEN_KINDS.map((k) => {
      const share = tokens[k.kind] / total;
      return { share, colour: k.colour, title: `${k.label}: ${fmt.compact(tokens[k.kind])} (${fmt.percent(share)})` };
    }),
  );
  const kindCells = TOKEN_KINDS.map((k) => {
    const usd = m.cost_by_kind ? m.cost_by_kind[k.kind] : null;
    return el(
      "td",
      { class: "num", "data-field": k.kind },
      fmt.compact(tokens[k.kind]),
      m.price ? el("span", { class: "sub", "data-field": `${k.kind}_cost`, text: fmt.usd(usd) }) : null,
    );
  });
  const streamed = m.streamed_calls || 0;
  return el(
    "tr",
    { "data-model": m.model },
    el("td", { class: "wrap" }, m.model, m.price ? null : el("span", { class: "tag", text: "no price" })),
    el(
      "td",
      { class: "num", "data-field": "calls" },
      fmt.count(m.calls),
      unknownUsage(m),
    ),
    el("td", {}, mix),
    ...kindCells,
    el("td", { class: "num", "data-field": "cost", text: fmt.cost(m) }),
    el("td", { class: "num", "data-field": "streams", text: fmt.count(streamed) }),
    el("td", {
      class: "num",
      "data-field": "first_chunk",
      text: timingPair(streamed, m.first_chunk_p50, m.first_chunk_p99),
    }),
    el("td", {
      class: "num",
      "data-field": "per_output_chunk",
      text: timingPair(streamed, m.per_output_chunk_p50, m.per_output_chunk_p99),
    }),
  );
}
