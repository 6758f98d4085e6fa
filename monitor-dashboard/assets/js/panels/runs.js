// Runs: the runs tracing kept (failed, cancelled, slow, over budget, sampled), newest first, with
// filters of their own; one opens in the waterfall below (`waterfall.js`). Other panels open a
// run with `openRun`.

import * as fmt from "../format.js";
import { HttpError, getJson } from "../api.js";
import { $, el, fillTable, setText } from "../dom.js";
import { writeHash } from "../state.js";
import * as waterfall from "./waterfall.js";

/** Rows of the list: as many as the events table, read again every refresh. */
export const RUNS_SHOWN = 50;

/** The page's state, kept from the last render for what clicks do. */
let pageState = null;
/** The run being read, so that an older answer does not replace a newer choice. */
let loading = "";
/** The run the waterfall shows (its trace id), read once: a kept run does not change. */
let shown = "";

/** The parameters of `/api/runs` for the state's filters. */
export function params(state) {
  const { outcome, kept, min_ms } = state.runFilters;
  // The page's site and pipeline filters apply here too (a run passes when a span of it does).
  const { site, pipeline } = state.filters;
  return { outcome, kept, min_ms, site, pipeline, limit: RUNS_SHOWN };
}

/** Wires the filters and the waterfall's buttons; `refresh` reads the API again. */
export function mount(hooks) {
  for (const select of document.querySelectorAll("select[data-run-filter]")) {
    select.addEventListener("change", () => {
      if (!pageState) return;
      pageState.runFilters[select.dataset.runFilter] = select.value;
      if (hooks && hooks.refresh) hooks.refresh();
    });
  }
  $("runs-table").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-trace-id]");
    if (button) openRun(button.dataset.traceId);
  });
  waterfall.mount(() => closeRun());
}

export function render(state) {
  pageState = state;
  for (const select of document.querySelectorAll("select[data-run-filter]")) {
    select.value = state.runFilters[select.dataset.runFilter] || "";
  }
  const answer = state.data.runs;
  if (!answer) {
    fillTable($("runs-table"), [], "Runs could not be read from this server.");
    setText("runs-note", "");
  } else {
    renderList(state, answer);
  }
  // A run named by the URL (a bookmark, a shared link) opens once the page has its token; one
  // taken out of it closes.
  if (state.openRun && state.openRun !== shown && state.openRun !== loading) openRun(state.openRun, false);
  else if (!state.openRun && (shown || loading)) closeRun();
}

function renderList(state, answer) {
  const rows = answer.runs.map((run) => runRow(run, state.openRun));
  const tracing = answer.tracing || {};
  const filtered =
    Object.values(state.runFilters).some(Boolean) || state.filters.site || state.filters.pipeline;
  fillTable(
    $("runs-table"),
    rows,
    tracing.enabled
      ? filtered
        ? "No kept run matches the filters."
        : "No run kept yet: runs that fail, are cancelled, slow or over budget are kept, and those sampled."
      : "Tracing is off: start the service with MONITOR_TRACES=on (or Config::traces(true)) to keep runs.",
  );
  const kept = tracing.kept ? Object.values(tracing.kept).reduce((a, b) => a + b, 0) : 0;
  setText(
    "runs-note",
    tracing.enabled
      ? `newest ${rows.length} of ${fmt.count(answer.matched)} held · ${fmt.count(kept)} kept since start` +
          (tracing.spans_dropped ? ` · ${fmt.count(tracing.spans_dropped)} spans dropped` : "")
      : "tracing is off",
  );
}

/** A run in the list; its trace id opens it. */
function runRow(run, openRun) {
  const tokens = waterfall.tokenTotal(run.tokens);
  return el(
    "tr",
    {
      "data-trace-id": run.trace_id,
      "data-kept": run.kept,
      "data-outcome": run.outcome,
      "data-open": String(run.trace_id === openRun),
    },
    el("td", { title: new Date(run.start_ms).toLocaleString(), text: fmt.clock(run.start_ms / 1000, true) }),
    el(
      "td",
      { class: "wrap" },
      el("span", { class: "kind", "data-kind": run.kind, text: run.kind }),
      " ",
      run.site,
      run.route ? el("span", { class: "sub", text: run.route }) : null,
    ),
    el("td", {}, el("span", { class: "reason", "data-reason": run.kept, text: waterfall.KEPT_NAMES[run.kept] || run.kept })),
    el("td", {
      class: run.outcome === "ok" ? null : "bad",
      text: waterfall.OUTCOME_NAMES[run.outcome] || run.outcome,
    }),
    el("td", { class: "num", text: run.status == null ? "–" : String(run.status) }),
    el("td", { class: "num", text: fmt.duration(run.duration_ms / 1000) }),
    el("td", {
      class: "num",
      title: run.dropped_spans ? `${fmt.count(run.dropped_spans)} more dropped (over the per-run limit)` : null,
      text: fmt.count(run.span_count) + (run.dropped_spans ? "+" : ""),
    }),
    el("td", { class: run.errors ? "num bad" : "num", text: fmt.count(run.errors) }),
    el("td", { class: "num", text: tokens ? fmt.compact(tokens) : "–" }),
    el("td", { class: "num", text: tokens ? fmt.cost(run) : "–" }),
    el(
      "td",
      {},
      el("button", {
        type: "button",
        class: "link mono",
        "data-trace-id": run.trace_id,
        title: `Open the waterfall of trace ${run.trace_id}`,
        text: run.trace_id.slice(0, 8) + "…",
      }),
    ),
  );
}

/** Opens a run's waterfall by its trace id, and brings it into view (unless `scroll` is false).
 *  A run that was not kept (or no longer is) is said so, not an error. */
export async function openRun(traceId, scroll = true) {
  if (!pageState || !traceId) return;
  pageState.openRun = traceId;
  writeHash();
  markOpen(traceId);
  loading = traceId;
  waterfall.showLoading(traceId);
  if (scroll) $("runs-card").scrollIntoView({ block: "start" });
  let run = null;
  let problem = "";
  try {
    run = await getJson("/api/runs/" + encodeURIComponent(traceId));
  } catch (error) {
    if (error instanceof HttpError && error.status === 404) {
      problem =
        "This run was not kept: tracing keeps the runs that fail, are cancelled, slow or over " +
        "budget, and those head sampling draws; or newer runs have pushed it out.";
    } else if (error instanceof HttpError && error.status === 400) {
      problem = `Not a trace id: ${error.message}`;
    } else {
      problem = `The run could not be read: ${error.message}`;
    }
  }
  // Another run was opened (or this one closed) while this one was read.
  if (loading !== traceId || pageState.openRun !== traceId) return;
  loading = "";
  shown = traceId;
  if (run) waterfall.show(run);
  else waterfall.showProblem(traceId, problem);
}

function closeRun() {
  if (!pageState) return;
  pageState.openRun = "";
  loading = "";
  shown = "";
  writeHash();
  markOpen("");
  waterfall.hide();
}

function markOpen(traceId) {
  for (const row of $("runs-table").tBodies[0].rows) {
    if (row.dataset.traceId) row.dataset.open = String(row.dataset.traceId === traceId);
  }
}
