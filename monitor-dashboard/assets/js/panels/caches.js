// Caches: each cache's hit ratio over time, and over the range as chips under the chart.

import * as fmt from "../format.js";
import { $, el, setNote } from "../dom.js";
import { TimeChart } from "../charts.js";
import { RANGES } from "../state.js";

let chart = null;

export function mount() {
  chart = new TimeChart($("chart-caches"), fmt.percent);
}

export function render(state) {
  renderChart(state);
  const caches = state.data.bySite.caches || [];
  setNote("caches", RANGES[state.range].label);
  $("caches-list").replaceChildren(
    ...caches.map((c) =>
      el(
        "span",
        { class: "chip", "data-cache": c.name },
        c.name + " ",
        el("b", { text: fmt.percent(c.hit_ratio) }),
        ` · ${fmt.count(c.hits)} hits, ${fmt.count(c.misses)} misses`,
      ),
    ),
  );
}

/** The hit ratio of each cache (the first eight by name) at each point, from the view. */
export function renderChart(state) {
  const view = state.view;
  if (!view) return;
  const { first, times, cut } = view.shown(state.range === "live");
  const caches = [...view.caches.entries()].sort((a, b) => a[0].localeCompare(b[0])).slice(0, 8);
  chart.update(
    times,
    caches.map(([name, c]) => ({
      label: name,
      values: cut(c.hits).map((h, i) => {
        const misses = c.misses[i + first];
        return h + misses > 0 ? h / (h + misses) : null;
      }),
    })),
    "No cache lookups in this range",
  );
}
