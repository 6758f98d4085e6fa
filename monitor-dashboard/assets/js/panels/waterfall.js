// One run as a waterfall: a bar per span on the run's time axis, nested by depth, coloured by how
// the call ended, with its tokens, cost and error beside it; the root's reason for being kept and
// the trace id (with a copy button) above. `runs.js` opens it.

import * as fmt from "../format.js";
import { $, el, setText } from "../dom.js";

export const OUTCOME_NAMES = {
  ok: "ok",
  client_error: "client error",
  error: "error",
  panicked: "panicked",
  cancelled: "cancelled",
};
export const KEPT_NAMES = {
  failed: "failed",
  cancelled: "cancelled",
  slow: "slow",
  over_budget: "over budget",
  sampled: "sampled",
};
/** The tokens a run or a call used: input and output (each includes its parts). */
export function tokenTotal(tokens) {
  return tokens ? (tokens.input || 0) + (tokens.output || 0) : 0;
}

/** Indentation per level of nesting, in pixels. */
const INDENT_PX = 14;
/** The share of the track a bar's note may take beside it: it goes after a bar that ends before
 *  this, before one that starts after the rest, and over the bar otherwise. */
const NOTE_SIDE = 0.6;

/** Wires the close and copy buttons; `close` forgets the open run. */
export function mount(close) {
  $("waterfall-close").addEventListener("click", close);
  $("waterfall-copy").addEventListener("click", copyTraceId);
}

export function hide() {
  $("waterfall").hidden = true;
}

/** The waterfall's frame, for a run being read. */
export function showLoading(traceId) {
  frame(traceId);
  $("waterfall").dataset.state = "loading";
  setText("waterfall-title", "Reading the run…");
}

/** A run that could not be shown: why, in place of its spans. */
export function showProblem(traceId, message) {
  frame(traceId);
  $("waterfall").dataset.state = "missing";
  setText("waterfall-title", "Run not shown");
  const problem = $("waterfall-problem");
  problem.textContent = message;
  problem.hidden = false;
}

/** Clears the waterfall and shows it, named by `traceId`. */
function frame(traceId) {
  const box = $("waterfall");
  box.hidden = false;
  box.dataset.traceId = traceId;
  setText("waterfall-trace", traceId);
  setText("waterfall-copied", "");
  $("waterfall-kept").hidden = true;
  $("waterfall-outcome").hidden = true;
  $("waterfall-problem").hidden = true;
  setText("waterfall-summary", "");
  $("waterfall-axis").replaceChildren();
  $("waterfall-rows").replaceChildren();
}

/** A run from `/api/runs/{trace_id}`: spans depth first, each with its depth. */
export function show(run) {
  frame(run.trace_id);
  $("waterfall").dataset.state = "shown";
  setText("waterfall-title", run.site + (run.route && run.route !== run.site ? ` · ${run.route}` : ""));
  const kept = $("waterfall-kept");
  kept.dataset.reason = run.kept;
  kept.textContent = `kept: ${KEPT_NAMES[run.kept] || run.kept}`;
  kept.hidden = false;
  const outcome = $("waterfall-outcome");
  outcome.dataset.outcome = run.outcome;
  outcome.textContent = (OUTCOME_NAMES[run.outcome] || run.outcome) + (run.status != null ? ` ${run.status}` : "");
  outcome.hidden = false;
  setText("waterfall-summary", summary(run));

  // The axis spans the root, or the latest end if a span outlived it (work handed over).
  const total = Math.max(run.duration_ms, ...run.spans.map((s) => s.offset_ms + s.duration_ms), 1e-3);
  $("waterfall-axis").replaceChildren(...axisTicks(total));
  const below = subtreeSpend(run.spans);
  $("waterfall-rows").replaceChildren(...run.spans.map((span, i) => row(span, total, below[i])));
}

/** For each span, the tokens and cost of the metered calls under it (depth first: they follow
 *  it, deeper), or null when there are none; `unpriced` when one of them had no price. */
function subtreeSpend(spans) {
  return spans.map((span, i) => {
    let tokens = 0;
    let cost = 0;
    let metered = 0;
    let unpriced = false;
    for (let j = i + 1; j < spans.length && spans[j].depth > span.depth; j++) {
      if (!spans[j].tokens) continue;
      metered += 1;
      tokens += tokenTotal(spans[j].tokens);
      if (spans[j].cost_usd == null) unpriced = true;
      else cost += spans[j].cost_usd;
    }
    return metered ? { tokens, cost, unpriced } : null;
  });
}

/** The line under the title: when, how long, how much, and what was left out. */
function summary(run) {
  const parts = [
    new Date(run.start_ms).toLocaleString(),
    fmt.duration(run.duration_ms / 1000),
    `${fmt.count(run.span_count)} spans`,
  ];
  if (run.dropped_spans) parts.push(`${fmt.count(run.dropped_spans)} more dropped (over the per-run limit)`);
  parts.push(run.errors ? `${fmt.count(run.errors)} failed` : "none failed");
  const tokens = tokenTotal(run.tokens);
  if (tokens) parts.push(`${fmt.compact(tokens)} tokens`, fmt.cost(run));
  if (run.remote_parent) parts.push(`continues span ${run.remote_parent} of its caller`);
  return parts.join(" · ");
}

/** Ticks at round steps along the axis (about five), as labels positioned by share. */
function axisTicks(totalMs) {
  const rough = totalMs / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) || rough;
  const ticks = [];
  for (let at = 0, i = 0; at <= totalMs * 1.0001 && i <= 20; at += step, i++) {
    const tick = el("span", { class: "wf-tick", text: fmt.duration(at / 1000) });
    tick.style.left = ((at / totalMs) * 100).toFixed(3) + "%";
    ticks.push(tick);
  }
  return ticks;
}

/** One span: its name indented by depth, and its bar with a note of its figures (and, for a span
 *  with metered calls under it, theirs added up). */
function row(span, totalMs, below) {
  const failed = span.outcome === "error" || span.outcome === "panicked";
  const label = el(
    "div",
    { class: "wf-label", title: spanTitle(span) },
    el("span", { class: "kind", "data-kind": span.kind, text: span.kind }),
    " ",
    el("span", { class: "wf-name", text: span.site }),
    detail(span) ? el("span", { class: "sub", text: detail(span) }) : null,
  );
  label.style.paddingLeft = `${span.depth * INDENT_PX}px`;

  const start = span.offset_ms / totalMs;
  const width = span.duration_ms / totalMs;
  const bar = el("div", {
    class: "wf-bar",
    "data-outcome": span.outcome,
    title: spanTitle(span),
  });
  bar.style.left = (start * 100).toFixed(3) + "%";
  bar.style.width = (width * 100).toFixed(3) + "%";

  const note = el("span", { class: "wf-note" }, el("span", { "data-field": "duration", text: fmt.duration(span.duration_ms / 1000) }));
  if (span.tokens) {
    note.append(" · ", el("span", { "data-field": "tokens", text: `${fmt.compact(tokenTotal(span.tokens))} tokens` }));
    note.append(" · ", el("span", { "data-field": "cost", text: span.cost_usd == null ? "unpriced" : fmt.usd(span.cost_usd) }));
  }
  if (below) {
    const cost = (below.unpriced ? "≥ " : "") + fmt.usd(below.cost);
    note.append(
      " · ",
      el("span", { "data-field": "below", title: "the metered calls under it", text: `Σ ${fmt.compact(below.tokens)} tokens, ${cost}` }),
    );
  }
  if (span.chunks != null) note.append(" · ", `${fmt.count(span.chunks)} chunks`);
  if (failed || span.error_message || span.error_type) {
    // The type is in the tooltip; the message says more on the bar.
    const text = span.error_message || span.error_type || OUTCOME_NAMES[span.outcome];
    note.append(" · ", el("span", { class: "wf-error", "data-field": "error", text }));
  }
  // After the bar when it ends early, before it when it starts late, else over it.
  if (start + width <= NOTE_SIDE) {
    note.style.left = ((start + width) * 100).toFixed(3) + "%";
  } else if (start >= 1 - NOTE_SIDE) {
    note.classList.add("before");
    note.style.right = ((1 - start) * 100).toFixed(3) + "%";
  } else {
    note.classList.add("over");
    note.style.left = (start * 100).toFixed(3) + "%";
  }

  return el(
    "div",
    {
      class: "wf-row",
      role: "listitem",
      "data-span-id": span.span_id,
      "data-parent-id": span.parent_id,
      "data-depth": span.depth,
      "data-outcome": span.outcome,
      "data-site": span.site,
    },
    label,
    el("div", { class: "wf-track" }, bar, note),
  );
}

/** What a span is about, beside its name: a route, a stage, a model. */
function detail(span) {
  if (span.kind === "handler") return span.depth === 0 ? "" : span.route || "";
  if (span.kind === "stage") return [span.pipeline, span.stage].filter(Boolean).join(" · ");
  const model = span.response_model && span.response_model !== span.model ? `${span.model} → ${span.response_model}` : span.model;
  return model || "";
}

/** Every figure of a span, for its tooltip. */
function spanTitle(span) {
  const lines = [
    `${span.site} (${span.kind})`,
    `starts at ${fmt.duration(span.offset_ms / 1000)}, takes ${fmt.duration(span.duration_ms / 1000)}`,
    `${OUTCOME_NAMES[span.outcome] || span.outcome}` + (span.status != null ? `, status ${span.status}` : ""),
  ];
  if (span.request_bytes || span.response_bytes != null) {
    lines.push(`bytes in / out: ${fmt.bytes(span.request_bytes)} / ${fmt.bytes(span.response_bytes)}`);
  }
  if (span.tokens) {
    const t = span.tokens;
    lines.push(
      `tokens: ${fmt.count(t.input)} in (${fmt.count(t.cached_input)} cached, ${fmt.count(t.cache_write)} cache write), ` +
        `${fmt.count(t.output)} out (${fmt.count(t.reasoning)} reasoning)`,
    );
    lines.push(span.cost_usd == null ? "cost unknown: the model has no price" : `cost ${fmt.usd(span.cost_usd)}`);
  }
  if (span.first_chunk_ms != null) lines.push(`first chunk after ${fmt.duration(span.first_chunk_ms / 1000)}`);
  if (span.error_type || span.error_message) {
    lines.push(`error: ${[span.error_type, span.error_message].filter(Boolean).join(": ")}`);
  }
  lines.push(`span ${span.span_id}` + (span.parent_id ? ` under ${span.parent_id}` : ""));
  return lines.join("\n");
}

/** Copies the trace id; where the clipboard is refused, selects it for the user to copy. */
async function copyTraceId() {
  const code = $("waterfall-trace");
  const text = code.textContent;
  try {
    await navigator.clipboard.writeText(text);
    setText("waterfall-copied", "copied");
  } catch {
    const range = document.createRange();
    range.selectNodeContents(code);
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    setText("waterfall-copied", "selected: press Ctrl+C");
  }
}
