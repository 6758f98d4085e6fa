// Pipelines: where a run's time goes, stage by stage, as a bar of shares and a table.

import * as fmt from "../format.js";
import { $, el, setNote, stackBar, swatch } from "../dom.js";
import { colourOf } from "../charts.js";
import { RANGES, metaLookup } from "../state.js";

export function render(state) {
  const container = $("pipelines");
  const estimates = new Map((state.data.estimates.pipelines || []).map((p) => [p.pipeline, p.estimate]));
  // What the range says of each stage: calls and quantiles, by pipeline.
  const inRange = new Map();
  const lookup = metaLookup(state.sites);
  for (const group of state.data.bySite.groups) {
    if (group.key.kind !== "stage") continue;
    const meta = lookup("stage", group.key.site);
    if (!meta.pipeline) continue;
    if (!inRange.has(meta.pipeline)) inRange.set(meta.pipeline, new Map());
    inRange.get(meta.pipeline).set(meta.stage || meta.name, group);
  }
  const pipelines = [...new Set(state.sites.filter((s) => s.pipeline).map((s) => s.pipeline))]
    .filter((p) => !state.filters.pipeline || p === state.filters.pipeline)
    .sort();
  setNote("pipelines", `${pipelines.length} pipelines · ${RANGES[state.range].label}`);
  if (pipelines.length === 0) {
    container.replaceChildren(el("p", { class: "empty-note", text: "No pipeline stages are instrumented." }));
    return;
  }
  container.replaceChildren(
    ...pipelines.map((pipeline) => pipelineCard(state, pipeline, estimates.get(pipeline), inRange.get(pipeline))),
  );
}

/** One pipeline: its estimate, the bar of its stages' shares, and a row per stage. */
function pipelineCard(state, pipeline, estimate, groups = new Map()) {
  // The stages in run order when the estimate knows it, else by name.
  const stageNames = estimate
    ? estimate.stages.map((s) => s.stage)
    : [...new Set(state.sites.filter((s) => s.pipeline === pipeline).map((s) => s.stage || s.name))].sort();
  const shares = estimate ? new Map(estimate.stages.map((s) => [s.stage, s.share])) : shareByTime(groups);
  const colour = (stage) => colourOf(`${pipeline} · ${stage}`);
  const bar = stackBar(
    { class: "stack", role: "img", "aria-label": `${pipeline}: share of run time by stage` },
    // Only the stages in the bar take a colour here: colours go to labels in the order first
    // asked for, and the rows below ask for the others after.
    stageNames
      .filter((stage) => shares.get(stage) > 0)
      .map((stage) => {
        const share = shares.get(stage);
        return { share, colour: colour(stage), title: `${stage}: ${fmt.percent(share)}` };
      }),
  );
  const rows = stageNames.map((stage) => {
    const group = groups.get(stage);
    return el(
      "tr",
      { "data-stage": stage },
      el("td", {}, swatch(colour(stage)), stage),
      el("td", { class: "num", text: group ? fmt.count(group.calls) : "0" }),
      el("td", { class: "num", text: group ? fmt.duration(group.p50) : "–" }),
      el("td", { class: "num", text: group ? fmt.duration(group.p99) : "–" }),
      el("td", { class: "num", text: group && group.errors ? fmt.count(group.errors) : "0" }),
      el("td", { class: "num", text: fmt.percent(shares.get(stage) || 0) }),
    );
  });
  const head = ["Stage", "Calls", "p50", "p99", "Errors", "Share"].map((text, i) =>
    el("th", { class: i === 0 ? null : "num", text }),
  );
  const table = el("table", { class: "table" }, el("thead", {}, el("tr", {}, ...head)), el("tbody", {}, ...rows));
  const summary = estimate
    ? `a run takes ${fmt.duration(estimate.total_p50)} (p50), ${fmt.duration(estimate.total_p90)} (p90)`
    : "no estimate yet: too few runs";
  return el(
    "div",
    { class: "pipeline", "data-pipeline": pipeline },
    el(
      "div",
      { class: "pipeline-head" },
      el("span", { class: "pipeline-name", text: pipeline }),
      el("span", { class: "pipeline-estimate", "data-field": "estimate", text: summary }),
    ),
    bar,
    table,
  );
}

/** Each stage's share of the time spent in a pipeline over the range (when no estimate). */
function shareByTime(groups) {
  const time = new Map();
  let total = 0;
  for (const [stage, group] of groups) {
    const spent = group.total_duration;
    time.set(stage, spent);
    total += spent;
  }
  return new Map([...time].map(([stage, spent]) => [stage, total > 0 ? spent / total : 0]));
}
