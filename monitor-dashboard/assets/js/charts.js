// Time-series charts, drawn by uPlot (vendored, MIT; loaded as a classic script before the
// modules, so it is the global `uPlot`).

import { clock } from "./format.js";
import { el } from "./dom.js";

const PALETTE = [
  "#2f6fed",
  "#15976b",
  "#e0563b",
  "#8b5cf6",
  "#d99206",
  "#0e9fb5",
  "#db2777",
  "#64748b",
  "#65a30d",
  "#9a3412",
];
const colours = new Map();

/** One colour per label, kept for the page's life so a series keeps its colour. */
export function colourOf(label) {
  if (!colours.has(label)) colours.set(label, PALETTE[colours.size % PALETTE.length]);
  return colours.get(label);
}

/** Whether the chart library loaded. */
export const available = () => typeof uPlot !== "undefined";

/** A uPlot time-series chart in a container, rebuilt when its series change and resized with
 *  its card. */
export class TimeChart {
  constructor(container, format) {
    this.container = container;
    this.format = format;
    this.plot = null;
    this.signature = "";
    this.empty = el("div", { class: "empty" });
    container.append(this.empty);
    new ResizeObserver(() => this.resize()).observe(container);
  }

  size() {
    return { width: Math.max(200, this.container.clientWidth), height: 190 };
  }

  resize() {
    if (this.plot) {
      const { width, height } = this.size();
      if (this.plot.width !== width) this.plot.setSize({ width, height });
    }
  }

  /** Draws `series` (`{label, values, dash}`) over `times` (Unix seconds); shows `emptyText`
   *  over the chart when there is nothing to draw. */
  update(times, series, emptyText) {
    const signature = series.map((s) => s.label + (s.dash ? " (dashed)" : "")).join("\n");
    const data = [times, ...series.map((s) => s.values)];
    if (!this.plot || signature !== this.signature) {
      if (this.plot) this.plot.destroy();
      this.plot = new uPlot(this.options(series), data, this.container);
      this.signature = signature;
    } else {
      this.plot.setData(data);
    }
    const hasData = series.some((s) => s.values.some((v) => v != null && v !== 0));
    this.empty.textContent = hasData ? "" : emptyText;
    this.empty.hidden = hasData;
  }

  options(series) {
    const format = this.format;
    const axis = {
      stroke: "#667085",
      grid: { stroke: "#eef1f6", width: 1 },
      ticks: { stroke: "#e2e7ef", width: 1 },
      font: "11px system-ui, sans-serif",
    };
    return {
      ...this.size(),
      cursor: { drag: { x: false, y: false, setScale: false } },
      legend: { show: true, live: true },
      scales: {
        x: { time: true },
        y: { range: (u, min, max) => [0, max != null && max > 0 ? max * 1.15 : 1] },
      },
      axes: [
        {
          ...axis,
          space: 70,
          values: (u, splits) => {
            const seconds = u.scales.x.max - u.scales.x.min < 600;
            return splits.map((t) => clock(t, seconds));
          },
        },
        { ...axis, size: 64, values: (u, splits) => splits.map((v) => format(v)) },
      ],
      // The legend shows the latest values, and those under the cursor while it hovers.
      series: [
        { label: "at", value: (u, v, i, idx) => (idx == null ? "latest" : clock(v, true)) },
        ...series.map((s) => ({
          label: s.label,
          stroke: colourOf(s.colourKey || s.label),
          width: 1.6,
          dash: s.dash ? [5, 4] : undefined,
          // A value between gaps draws no line: show it as a dot.
          points: { show: true, size: 5, filter: isolatedPoints },
          value: (u, v, i, idx) => {
            const value = idx == null ? latest(u.data[i]) : v;
            return value == null ? "–" : format(value);
          },
        })),
      ],
    };
  }
}

/** The indices of a series' values that have no value on either side. */
function isolatedPoints(u, seriesIdx) {
  const values = u.data[seriesIdx];
  const found = [];
  for (let i = 0; i < values.length; i++) {
    if (values[i] != null && values[i - 1] == null && values[i + 1] == null) found.push(i);
  }
  return found;
}

/** The last value of a series that is not null. */
function latest(values) {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] != null) return values[i];
  return null;
}
