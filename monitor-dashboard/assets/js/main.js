// The dashboard: reads the API (`api.js`) and the live stream (`stream.js`) into the state
// (`state.js`), and has each panel (`panels/*.js`) render it.

import {
  HttpError,
  NetworkError,
  getJson,
  getOptional,
  learnClockFromTick,
  serverNow,
  token,
  unixSecs,
} from "./api.js";
import { follow } from "./stream.js";
import { RANGES, liveWindowSecs, metaLookup, readHash, state, writeHash } from "./state.js";
import { View } from "./view.js";
import { available as chartsAvailable } from "./charts.js";
import { $, setText } from "./dom.js";
import * as screens from "./screens.js";
import * as filters from "./panels/filters.js";
import * as insights from "./panels/insights.js";
import * as tiles from "./panels/tiles.js";
import * as timeseries from "./panels/timeseries.js";
import * as memory from "./panels/memory.js";
import * as errors from "./panels/errors.js";
import * as events from "./panels/events.js";
import * as runs from "./panels/runs.js";
import * as pipelines from "./panels/pipelines.js";
import * as models from "./panels/models.js";
import * as stageTokens from "./panels/stage-tokens.js";
import * as sites from "./panels/sites.js";
import * as caches from "./panels/caches.js";
import * as exporters from "./panels/exports.js";
import * as objectives from "./panels/objectives.js";

// In this order: series and stages take their colours from one palette, in the order they first
// ask (the time-series charts, memory, caches, then the pipelines' stages).
const PANELS = [
  filters,
  insights,
  tiles,
  timeseries,
  memory,
  caches,
  errors,
  events,
  runs,
  pipelines,
  models,
  stageTokens,
  sites,
  exporters,
  objectives,
];

/** Refresh every this often in live mode while the stream is down, so the charts still move. */
const POLL_MS = 2000;
/** Try again this often while the server cannot be reached. */
const RETRY_MS = 5000;

// ---- Reading the API -------------------------------------------------------------------------------

/** `/api/query` with the range, filters and grouping; asked again without a resolution when
 *  the server keeps the range only at a coarser one. */
async function query(groupBy, resolutionSecs) {
  const range = RANGES[state.range];
  // Ends at the next whole point after now, in the server's clock.
  const to = Math.ceil(serverNow() / range.step) * range.step;
  const params = { from: to - range.secs, to, group_by: groupBy, ...state.filters };
  if (!state.coarseRanges.has(state.range)) params.resolution = resolutionSecs + "s";
  try {
    return await getJson("/api/query", params);
  } catch (error) {
    const refused = error instanceof HttpError && error.status === 400;
    if (refused && error.body && error.body.parameter === "resolution" && params.resolution) {
      state.coarseRanges.add(state.range);
      delete params.resolution;
      return getJson("/api/query", params);
    }
    throw error;
  }
}

/** Reads everything the page shows, then draws it. Overlapping calls are merged. */
async function refresh() {
  if (state.refreshing) {
    state.refreshAgain = true;
    return;
  }
  state.refreshing = true;
  state.lastRefresh = Date.now();
  const sentAt = Date.now();
  const generation = state.generation;
  const range = RANGES[state.range];
  try {
    const { sites: sitesAnswer, ...data } = await allOf({
      sites: getJson("/api/sites"),
      bySite: query("kind,site", range.step),
      // The totals per kind, with exact quantiles over the whole range (one wide point).
      byKind: query("kind", range.secs),
      errors: getOptional("/api/errors", { patterns: [], dropped: 0 }),
      events: getOptional("/api/events", null, { ...state.filters, limit: events.EVENTS_SHOWN }),
      runs: getOptional("/api/runs", null, runs.params(state)),
      memory: getOptional("/api/memory", null),
      estimates: getOptional("/api/estimates", { pipelines: [] }),
      models: getOptional("/api/models", { models: [] }),
      insights: getOptional("/api/insights", null),
      exports: getOptional("/api/exports", { exports: [] }),
      objectives: getOptional("/api/objectives", { objectives: [] }),
    });
    if (generation !== state.generation) return;
    state.sites = sitesAnswer.sites || [];
    state.data = { ...data, at: Date.now() };
    // Live, the charts are read once and then follow the ticks; they are read again only when
    // there is no stream to follow, or it came back after a gap.
    const followTicks = state.range === "live" && state.stream.up && state.view && !state.reseed;
    if (!followTicks) {
      state.reseed = false;
      state.view = View.fromQuery(data.bySite, metaLookup(state.sites));
      if (state.range === "live") {
        // Ticks that came while the query was being answered.
        for (const tick of state.recentTicks) {
          if (tick.receivedAt >= sentAt) state.view.addTick(tick, liveWindowSecs(), state.filters);
        }
      }
    }
    state.memory = data.memory && Array.isArray(data.memory.history) ? data.memory.history.slice() : [];
    showDashboard();
    screens.clearBanner();
    renderAll();
  } catch (error) {
    handleFailure(error);
  } finally {
    state.refreshing = false;
    if (state.refreshAgain) {
      state.refreshAgain = false;
      refresh();
    }
  }
}

/** Awaits an object's promises together: the object of their values, or the first failure. */
async function allOf(promises) {
  const values = await Promise.all(Object.values(promises));
  return Object.fromEntries(Object.keys(promises).map((key, i) => [key, values[i]]));
}

function handleFailure(error) {
  if (error instanceof HttpError && error.status === 401) {
    const sent = token.current() !== "";
    if (sent) token.clear();
    stopStream();
    screens.showAuth(sent ? `The token was not accepted: ${error.message}. Check it and try again.` : "");
    return;
  }
  if (error instanceof NetworkError) {
    screens.showBanner("The server cannot be reached; retrying every few seconds.");
    screens.setStatus("error", "Disconnected");
  } else if (error instanceof HttpError) {
    screens.showBanner(`The dashboard API answered an error: ${error.message}`);
    screens.setStatus("error", "API error");
  } else {
    // A bug of this page: say so rather than blame the server.
    console.error(error);
    screens.showBanner(`The page could not show the data: ${error.message}`);
  }
}

function showDashboard() {
  screens.showDashboard(token.current() !== "");
  if (!state.stream.controller) runStream();
  if (state.stream.up) screens.setStatus("live", "Live");
  else if (document.body.dataset.status === "error") screens.setStatus("polling", "Polling");
}

// ---- The live stream -------------------------------------------------------------------------------

function runStream() {
  stopStream();
  state.stream.controller = follow({
    open() {
      state.stream.up = true;
      screens.setStatus("live", "Live");
      // Read the charts afresh once, then follow the ticks.
      state.reseed = true;
      refresh();
    },
    tick: onTick,
    retry(delayMs) {
      // Dropped or refused: poll meanwhile, and try again later, waiting longer each time.
      state.stream.up = false;
      screens.setStatus("polling", `Polling — stream reconnecting in ${Math.round(delayMs / 1000)} s`);
    },
    unauthorized: handleFailure,
  });
}

function stopStream() {
  if (state.stream.controller) state.stream.controller.abort();
  state.stream.controller = null;
  state.stream.up = false;
}

/** One collector tick: live charts move, running totals grow. */
function onTick(tick) {
  const at = unixSecs(tick.at);
  tick.receivedAt = Date.now();
  learnClockFromTick(at, tick.receivedAt);
  state.stream.lastTick = Date.now();
  state.recentTicks.push(tick);
  while (state.recentTicks.length && unixSecs(state.recentTicks[0].at) < at - 15) state.recentTicks.shift();

  // Totals since the start, as the sites table shows them. The tick says where the site stands;
  // adding its `calls` to totals read at another moment would count the calls in between twice.
  const byId = new Map(state.sites.map((s) => [s.id, s]));
  for (const entry of tick.sites) {
    const site = byId.get(entry.site.id);
    if (site && site.stats) {
      site.stats.calls = Math.max(site.stats.calls, entry.total_calls);
      site.stats.errors = Math.max(site.stats.errors, entry.total_errors);
    }
  }
  if (tick.memory) {
    state.memory.push(tick.memory);
    if (state.memory.length > 3600) state.memory.shift();
  }
  if (state.range === "live" && state.view) state.view.addTick(tick, liveWindowSecs(), state.filters);
  scheduleRender();
}

// ---- Rendering -------------------------------------------------------------------------------------

let renderPending = false;
let lastRender = 0;

/** Redraws what the ticks move, at most twice a second however fast they come. */
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  const wait = Math.max(0, 500 - (Date.now() - lastRender));
  setTimeout(() => {
    renderPending = false;
    lastRender = Date.now();
    if (state.data) {
      if (state.range === "live") {
        timeseries.render(state);
        memory.renderChart(state);
        caches.renderChart(state);
        tiles.renderLiveRate(state);
      }
      sites.renderCounts(state);
    }
  }, wait);
}

function renderAll() {
  for (const panel of PANELS) panel.render(state);
  const range = RANGES[state.range];
  setText("updated-note", `${range.label} · updated ${new Date(state.data.at).toLocaleTimeString()}`);
  document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
}

// ---- Controls --------------------------------------------------------------------------------------

/** The range or a filter changed: drop what was shown and read again. */
function changed() {
  state.generation += 1;
  state.view = null;
  writeHash();
  for (const button of document.querySelectorAll("#range button")) {
    button.setAttribute("aria-pressed", String(button.dataset.range === state.range));
  }
  if (state.data) refresh();
}

function wireControls() {
  for (const button of document.querySelectorAll("#range button")) {
    button.addEventListener("click", () => {
      state.range = button.dataset.range;
      changed();
    });
  }
  for (const select of document.querySelectorAll("select[data-filter]")) {
    select.addEventListener("change", () => {
      state.filters[select.dataset.filter] = select.value;
      changed();
    });
  }
  $("auth-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token-input").value.trim();
    if (!value) {
      screens.showAuthError("Enter the dashboard's token.");
      return;
    }
    token.set(value);
    screens.showLoading();
    screens.setStatus("connecting", "Connecting…");
    refresh();
  });
  $("sign-out").addEventListener("click", () => {
    token.clear();
    stopStream();
    state.data = null;
    screens.showAuth("");
  });
  window.addEventListener("hashchange", () => {
    readHash();
    changed();
  });
}

/** Reads again when due: every range's own period, sooner in live mode without the stream,
 *  every few seconds while nothing could be loaded. */
function tick() {
  if (state.refreshing || screens.askingForToken()) return;
  const range = RANGES[state.range];
  let every = range.refreshMs;
  if (!state.data) every = RETRY_MS;
  else if (state.range === "live" && !state.stream.up) every = POLL_MS;
  if (Date.now() - state.lastRefresh >= every) refresh();
  if (state.stream.up) {
    const secs = (Date.now() - state.stream.lastTick) / 1000;
    setText(
      "status-text",
      state.stream.lastTick ? `Live · last tick ${secs < 1 ? "<1" : Math.round(secs)} s ago` : "Live",
    );
  }
}

function start() {
  // Every module loaded (this one runs only after all it imports did): tests read this.
  document.body.dataset.modules = "loaded";
  if (!chartsAvailable()) {
    screens.showBanner("The chart library did not load; reload the page.");
    return;
  }
  for (const panel of PANELS) if (panel.mount) panel.mount({ refresh });
  readHash();
  wireControls();
  changed();
  // Try without asking: a server without a token answers, one with a token says 401 and the
  // form appears.
  refresh();
  setInterval(tick, 1000);
}

start();
