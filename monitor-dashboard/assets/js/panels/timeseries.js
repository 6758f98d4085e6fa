// The time-series cards: calls per second, latency, error rate, stage durations and tokens per
// second by model, all from the view (one slot per point, per site).

import * as fmt from "../format.js";
import { $, setNote } from "../dom.js";
import { TimeChart } from "../charts.js";
import { kindName, labelOf, primaryKind, siteName } from "../state.js";

const charts = {};

/** Creates the charts in their cards, each with the format of its values. */
export function mount() {
  for (const [name, format] of [
    ["rate", (v) => fmt.rate(v) + "/s"],
    ["latency", fmt.duration],
    ["errors", fmt.percent],
    ["stages", fmt.duration],
    ["tokens", (v) => fmt.compact(v) + "/s"],
  ]) {
    charts[name] = new TimeChart($("chart-" + name), format);
  }
}

export function render(state) {
  const view = state.view;
  if (!view) return;
  const filters = state.filters;
  const { first, times, cut, perSecond } = view.shown(state.range === "live");
  const kind = primaryKind(state);
  const kinds = kindName(kind);
  const note = `${kinds} · ${fmt.step(view.step)} points`;
  for (const name of ["rate", "latency", "errors"]) setNote(name, note);

  const busiest = view.busiest(kind, 8, filters);
  charts.rate.update(
    times,
    busiest.map(({ series }) => ({
      label: labelOf(series.meta),
      values: perSecond(series.calls),
    })),
    `No ${kinds} called in this range`,
  );

  const slowest = busiest.slice(0, 5);
  charts.latency.update(
    times,
    slowest.flatMap(({ series }) => [
      { label: labelOf(series.meta) + " p50", colourKey: labelOf(series.meta), values: cut(series.p50) },
      {
        label: labelOf(series.meta) + " p99",
        colourKey: labelOf(series.meta),
        values: cut(series.p99),
        dash: true,
      },
    ]),
    `No ${kinds} called in this range`,
  );

  const failing = view
    .busiest(kind, 50, filters)
    .filter(({ series }) => series.errors.some((e) => e > 0))
    .slice(0, 6);
  charts.errors.update(
    times,
    failing.map(({ series }) => ({
      label: labelOf(series.meta),
      values: cut(series.calls).map((c, i) => (c > 0 ? series.errors[i + first] / c : null)),
    })),
    `No errors in ${kinds} in this range`,
  );

  const stages = view.busiest("stage", 10, filters);
  setNote("stages", `${stages.length} stages`);
  charts.stages.update(
    times,
    stages.map(({ series }) => ({ label: labelOf(series.meta), values: cut(series.p50) })),
    "No stage ran in this range",
  );

  // Tokens by model: the token-tracking sites, added up by the model they name.
  const byModel = new Map();
  for (const { series } of view.busiest("tokens", 100, filters)) {
    const model =
      series.meta.model ||
      (series.meta.model_expr ? `${siteName(series.meta)} (model per call)` : siteName(series.meta));
    const sum = byModel.get(model) || new Array(view.times.length).fill(0);
    series.tokens.forEach((t, i) => (sum[i] += t));
    byModel.set(model, sum);
  }
  setNote("tokens", `${byModel.size} models`);
  charts.tokens.update(
    times,
    [...byModel.entries()].map(([model, sum]) => ({ label: model, values: perSecond(sum) })),
    "No tokens used in this range",
  );
}
