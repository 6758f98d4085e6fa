// The memory card: resident memory (and the heap, when the allocator is counted) over time, and
// whether the trend looks like a leak.

import * as fmt from "../format.js";
import { $, setText } from "../dom.js";
import { TimeChart } from "../charts.js";
import { unixSecs } from "../api.js";
import { liveWindowSecs } from "../state.js";

let chart = null;

export function mount() {
  chart = new TimeChart($("chart-memory"), fmt.bytes);
}

export function render(state) {
  renderChart(state);
  renderLeak(state.data.memory);
}

/** The samples of the range (live: of the last five minutes, as the ticks bring them). */
export function renderChart(state) {
  let samples = state.memory;
  if (state.range === "live") {
    const since = Date.now() / 1000 - liveWindowSecs();
    samples = samples.filter((s) => unixSecs(s.at) >= since);
  }
  const times = samples.map((s) => unixSecs(s.at));
  const series = [{ label: "resident (RSS)", values: samples.map((s) => s.rss_bytes) }];
  if (samples.some((s) => s.heap_bytes != null)) {
    series.push({ label: "heap", values: samples.map((s) => s.heap_bytes ?? null) });
  }
  chart.update(times, series, "No memory samples yet");
}

function renderLeak(memory) {
  const flag = $("leak-flag");
  const leak = memory && memory.leak;
  if (!leak) {
    flag.dataset.suspected = "unknown";
    setText(flag, "Memory not available");
    setText("memory-note", "");
    return;
  }
  const perMin = leak.slope_bytes_per_sec * 60;
  const threshold = memory.leak_threshold_bytes_per_sec;
  if (leak.suspected) {
    flag.dataset.suspected = "true";
    setText(flag, "Leak suspected");
  } else if (leak.samples < 10) {
    flag.dataset.suspected = "unknown";
    setText(flag, "Too few samples");
  } else {
    flag.dataset.suspected = "false";
    setText(flag, "No leak suspected");
  }
  setText(
    "memory-note",
    `Trend ${fmt.bytes(perMin)}/min over ${leak.samples} samples (fit ${leak.fit.toFixed(2)}); ` +
      `flagged above ${fmt.bytes(threshold * 60)}/min.`,
  );
}
