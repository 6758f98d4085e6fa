// monitor dashboard: plain JavaScript, no build step, no framework.
//
// The page reads the JSON API next to it (same base path) and the live stream of collector ticks,
// and draws the charts with uPlot (vendored, MIT). Data only ever reaches the page as text
// (`textContent`, attribute values): site names and error messages can contain anything.
"use strict";

(() => {
  // ---- Where the API is ------------------------------------------------------------------------

  // The router may be nested under any prefix, with or without a trailing slash:
  // "/admin" and "/admin/" both give "/admin"; "/" gives "" (served at the root).
  const BASE = location.pathname.replace(/\/+$/, "");

  /** The URL of an API path with the given query parameters (empty ones left out). */
  function apiUrl(path, params = {}) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== "") query.set(key, value);
    }
    const text = query.toString();
    return BASE + path + (text ? "?" + text : "");
  }

  // ---- The token -------------------------------------------------------------------------------

  // Kept in the tab's session storage: gone when the tab closes, never sent anywhere but here.
  const TOKEN_KEY = "monitor-dashboard-token";
  const token = {
    get() {
      try {
        return sessionStorage.getItem(TOKEN_KEY) || "";
      } catch {
        return "";
      }
    },
    set(value) {
      try {
        sessionStorage.setItem(TOKEN_KEY, value);
      } catch {
        // Storage refused (private mode): the token lives as long as this page instead.
      }
      memoryToken = value;
    },
    clear() {
      try {
        sessionStorage.removeItem(TOKEN_KEY);
      } catch {
        // Nothing stored.
      }
      memoryToken = "";
    },
    current() {
      return this.get() || memoryToken;
    },
  };
  let memoryToken = "";

  /** An answer other than 2xx, with the API's `{error, message}` body when there is one. */
  class HttpError extends Error {
    constructor(status, body) {
      super((body && body.message) || `the server answered HTTP ${status}`);
      this.status = status;
      this.body = body;
    }
  }

  /** The server could not be reached at all. */
  class NetworkError extends Error {}

  function authHeaders() {
    const value = token.current();
    return value ? { Authorization: "Bearer " + value } : {};
  }

  /** GETs an API path and parses its JSON; throws HttpError for a non-2xx answer. */
  async function getJson(path, params) {
    let response;
    try {
      response = await fetch(apiUrl(path, params), {
        headers: { Accept: "application/json", ...authHeaders() },
        cache: "no-store",
        credentials: "omit",
      });
    } catch (error) {
      throw new NetworkError(String(error));
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) throw new HttpError(response.status, body);
    learnClock(response.headers.get("Date"));
    return body;
  }

  // ---- The server's clock ----------------------------------------------------------------------

  // Queries name their time span in the server's clock, aligned to whole points, so that the
  // points hold the same seconds the ticks do. The skew is learnt from the `Date` header (to the
  // second) and, more closely, from each tick's time.
  let clockSkew = 0;
  let clockKnown = false;

  function serverNow() {
    return Date.now() / 1000 + clockSkew;
  }

  function learnClock(dateHeader) {
    const server = dateHeader ? Date.parse(dateHeader) / 1000 : NaN;
    if (!isFinite(server)) return;
    // The header is truncated to the second: keep a closer estimate unless this one disagrees.
    const skew = server + 0.5 - Date.now() / 1000;
    if (!clockKnown || Math.abs(skew - clockSkew) > 1.5) {
      clockSkew = skew;
      clockKnown = true;
    }
  }

  /** Like getJson, but a failure other than 401 gives `fallback`: one panel's data missing
   *  should not blank the others. */
  async function getOptional(path, fallback, params) {
    try {
      return await getJson(path, params);
    } catch (error) {
      if (error instanceof HttpError && error.status === 401) throw error;
      return fallback;
    }
  }

  // ---- Formatting ------------------------------------------------------------------------------

  const fmt = {
    count(n) {
      return n == null ? "–" : Math.round(n).toLocaleString("en-US");
    },
    compact(n) {
      if (n == null) return "–";
      return new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 }).format(n);
    },
    rate(perSec) {
      if (perSec == null || !isFinite(perSec)) return "–";
      if (perSec === 0) return "0";
      if (perSec < 10) return perSec.toFixed(2);
      if (perSec < 100) return perSec.toFixed(1);
      return fmt.count(perSec);
    },
    /** Seconds as µs, ms, s or minutes. */
    duration(secs) {
      if (secs == null || !isFinite(secs)) return "–";
      if (secs === 0) return "0";
      if (secs < 1e-3) return (secs * 1e6).toFixed(secs < 1e-4 ? 1 : 0) + " µs";
      if (secs < 1) return (secs * 1e3).toFixed(secs < 0.01 ? 2 : secs < 0.1 ? 1 : 0) + " ms";
      if (secs < 60) return secs.toFixed(secs < 10 ? 2 : 1) + " s";
      if (secs % 3600 === 0) return `${secs / 3600} h`;
      const minutes = Math.floor(secs / 60);
      const rest = Math.round(secs - minutes * 60);
      return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
    },
    bytes(n) {
      if (n == null || !isFinite(n)) return "–";
      const units = ["B", "KiB", "MiB", "GiB", "TiB"];
      let value = Math.abs(n);
      let unit = 0;
      while (value >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit += 1;
      }
      return (n < 0 ? "-" : "") + value.toFixed(unit === 0 ? 0 : 1) + " " + units[unit];
    },
    percent(ratio) {
      if (ratio == null || !isFinite(ratio)) return "–";
      const pct = ratio * 100;
      if (pct === 0) return "0 %";
      return pct.toFixed(pct < 1 ? 2 : 1) + " %";
    },
    usd(value) {
      if (value == null || !isFinite(value)) return "–";
      if (value === 0) return "$0";
      if (value < 0.01) return "$" + value.toFixed(4);
      if (value < 100) return "$" + value.toFixed(2);
      return "$" + fmt.count(value);
    },
    ago(unixSecs) {
      if (unixSecs == null) return "–";
      const secs = Math.max(0, Date.now() / 1000 - unixSecs);
      if (secs < 60) return `${Math.round(secs)} s ago`;
      if (secs < 3600) return `${Math.round(secs / 60)} min ago`;
      if (secs < 86400) return `${Math.round(secs / 3600)} h ago`;
      return `${Math.round(secs / 86400)} d ago`;
    },
  };

  /** A clock time, 24-hour, with seconds when `seconds`. */
  function clock(unix, seconds) {
    const options = { hour: "2-digit", minute: "2-digit", hour12: false };
    if (seconds) options.second = "2-digit";
    return new Date(unix * 1000).toLocaleTimeString([], options);
  }

  /** The last value of a series that is not null. */
  function latest(values) {
    for (let i = values.length - 1; i >= 0; i--) if (values[i] != null) return values[i];
    return null;
  }

  /** A time as Unix seconds: the API sends plain numbers, or serde's SystemTime
   *  `{secs_since_epoch, nanos_since_epoch}`. */
  function unixSecs(time) {
    if (time == null) return null;
    if (typeof time === "number") return time;
    return (time.secs_since_epoch || 0) + (time.nanos_since_epoch || 0) / 1e9;
  }

  /** When a tick's period began, in Unix seconds. */
  function tickStart(tick) {
    return unixSecs(tick.at) - (tick.period || 0);
  }

  /** The cost a group reports: the full cost when every call had a price, else what is known. */
  function costOf(item) {
    return item.cost_usd != null ? item.cost_usd : item.known_cost_usd || 0;
  }

  // ---- DOM helpers (text only, never markup) ---------------------------------------------------

  const $ = (id) => document.getElementById(id);

  /** An element with attributes and children; strings become text nodes. */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
    }
    return node;
  }

  function setText(id, text) {
    const node = typeof id === "string" ? $(id) : id;
    if (node && node.textContent !== text) node.textContent = text;
  }

  /** Sets a summary tile's value, its line below, and its tone (`bad`, `warn` or none). */
  function setTile(id, value, sub, tone) {
    const tile = $(id);
    setText(tile.querySelector(".tile-value"), value);
    setText(tile.querySelector(".tile-sub"), sub || "");
    if (tone) tile.dataset.tone = tone;
    else delete tile.dataset.tone;
  }

  /** Replaces a table's body with `rows`, or one row saying `emptyText`. */
  function fillTable(table, rows, emptyText) {
    const body = table.tBodies[0];
    if (rows.length === 0) {
      const columns = table.tHead.rows[0].cells.length;
      rows = [el("tr", {}, el("td", { class: "empty-row", colspan: columns, text: emptyText }))];
    }
    body.replaceChildren(...rows);
  }

  // ---- Colours ---------------------------------------------------------------------------------

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
  function colourOf(label) {
    if (!colours.has(label)) colours.set(label, PALETTE[colours.size % PALETTE.length]);
    return colours.get(label);
  }

  // ---- Charts ----------------------------------------------------------------------------------

  /** A uPlot time-series chart in a container, rebuilt when its series change and resized with
   *  its card. */
  class TimeChart {
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

  // ---- Time ranges and filters -----------------------------------------------------------------

  // `secs`: the span shown; `step`: the width of a point, in seconds; `refreshMs`: how often the
  // tables and totals are read again (charts in live mode move with every tick).
  const RANGES = {
    live: { label: "last 5 min, live", secs: 300, step: 1, refreshMs: 5000 },
    "15m": { label: "last 15 min", secs: 900, step: 10, refreshMs: 5000 },
    "1h": { label: "last hour", secs: 3600, step: 60, refreshMs: 15000 },
    "24h": { label: "last 24 h", secs: 86400, step: 600, refreshMs: 60000 },
  };
  /** Refresh every this often in live mode while the stream is down, so the charts still move. */
  const POLL_MS = 2000;
  /** Try again this often while the server cannot be reached. */
  const RETRY_MS = 5000;

  const state = {
    range: "live",
    filters: { kind: "", pipeline: "", site: "" },
    /** Every site, called or not, with its totals since the start (`/api/sites`). */
    sites: [],
    /** The latest answers of the API, for rendering. */
    data: null,
    /** The chart data: one slot per point, per site (`View`). */
    view: null,
    /** Memory samples for the memory chart. */
    memory: [],
    /** Ticks of the last few seconds, replayed over a fresh query in live mode. */
    recentTicks: [],
    /** Whether the stream is connected, and when its last tick came. */
    stream: { up: false, lastTick: 0, controller: null },
    /** Bumped when the range or a filter changes: answers to older requests are dropped. */
    generation: 0,
    lastRefresh: 0,
    refreshing: false,
    /** A refresh was asked for while one was running: run another when it ends. */
    refreshAgain: false,
    /** Live: read the charts from the API at the next refresh instead of following ticks. */
    reseed: false,
    /** Resolutions the server refused for a range (the history is coarser): asked without. */
    coarseRanges: new Set(),
  };

  /** Range and filters live in the URL's fragment, so a view can be bookmarked or shared. */
  function readHash() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    const range = params.get("range");
    if (range && RANGES[range]) state.range = range;
    for (const key of Object.keys(state.filters)) state.filters[key] = params.get(key) || "";
  }

  function writeHash() {
    const params = new URLSearchParams();
    if (state.range !== "live") params.set("range", state.range);
    for (const [key, value] of Object.entries(state.filters)) if (value) params.set(key, value);
    const text = params.toString();
    history.replaceState(null, "", text ? "#" + text : location.pathname + location.search);
  }

  /** Whether a site (from `/api/sites` or a tick) passes the filters. */
  function passes(site) {
    const { kind, pipeline, site: wanted } = state.filters;
    return (
      (!kind || site.kind === kind) &&
      (!pipeline || site.pipeline === pipeline) &&
      (!wanted || site.id === wanted || site.name === wanted || site.qualified_name === wanted)
    );
  }

  const siteKey = (kind, name) => kind + "/" + name;
  /** The name that tells sites apart: `Type::method` for a method that knows its type. */
  const siteName = (site) => site.qualified_name || site.name;

  // ---- Chart data: one slot per point, per site ------------------------------------------------

  /** Per-site series on a shared time axis: `times` (Unix seconds, `step` apart) and, per
   *  `kind/name`, arrays of calls, errors, tokens, cost, p50 and p99 aligned with `times`. */
  class View {
    constructor(from, step, count) {
      this.step = step;
      this.times = Array.from({ length: count }, (_, i) => from + i * step);
      /** The latest time the data covers (the newest slot may be still filling). */
      this.now = from + count * step;
      this.sites = new Map();
      this.caches = new Map();
    }

    /** The series of one site, created empty (no calls) when new. */
    site(key, meta) {
      let series = this.sites.get(key);
      if (!series) {
        const n = this.times.length;
        series = {
          meta,
          calls: new Array(n).fill(0),
          errors: new Array(n).fill(0),
          tokens: new Array(n).fill(0),
          cost: new Array(n).fill(0),
          p50: new Array(n).fill(null),
          p99: new Array(n).fill(null),
        };
        this.sites.set(key, series);
      }
      return series;
    }

    cache(name) {
      let series = this.caches.get(name);
      if (!series) {
        const n = this.times.length;
        series = { hits: new Array(n).fill(0), misses: new Array(n).fill(0) };
        this.caches.set(name, series);
      }
      return series;
    }

    /** The slot holding time `at`, or -1 before the first. */
    slot(at) {
      if (this.times.length === 0) return -1;
      const index = Math.floor((at - this.times[0]) / this.step + 1e-6);
      return index < 0 ? -1 : Math.min(index, this.times.length - 1);
    }

    /** Appends empty slots until `at` has one, dropping slots older than `windowSecs`. */
    extendTo(at, windowSecs) {
      let last = this.times.length ? this.times[this.times.length - 1] : Math.floor(at);
      if (this.times.length === 0) this.pushSlot(last);
      while (at >= last + this.step) {
        last += this.step;
        this.pushSlot(last);
      }
      const keep = Math.ceil(windowSecs / this.step);
      const excess = this.times.length - keep;
      if (excess > 0) {
        this.times.splice(0, excess);
        for (const s of this.sites.values()) {
          for (const field of ["calls", "errors", "tokens", "cost", "p50", "p99"]) s[field].splice(0, excess);
        }
        for (const c of this.caches.values()) {
          c.hits.splice(0, excess);
          c.misses.splice(0, excess);
        }
      }
    }

    pushSlot(at) {
      this.times.push(at);
      for (const s of this.sites.values()) {
        s.calls.push(0);
        s.errors.push(0);
        s.tokens.push(0);
        s.cost.push(0);
        s.p50.push(null);
        s.p99.push(null);
      }
      for (const c of this.caches.values()) {
        c.hits.push(0);
        c.misses.push(0);
      }
    }

    /** From a `/api/query` answer grouped by kind and site. */
    static fromQuery(result, siteMeta) {
      const step = result.resolution_secs > 0 ? result.resolution_secs : 1;
      const count = Math.max(1, Math.ceil((result.to - result.from) / step));
      const view = new View(result.from, step, count);
      view.now = Math.min(result.to, serverNow());
      for (const group of result.groups) {
        const key = siteKey(group.key.kind, group.key.site);
        const series = view.site(key, siteMeta(group.key.kind, group.key.site));
        for (const point of group.series) {
          const i = view.slot(point.at);
          if (i < 0) continue;
          series.calls[i] += point.calls;
          series.errors[i] += point.errors;
          series.tokens[i] += point.tokens;
          series.cost[i] += point.cost_usd;
          if (point.calls > 0) {
            series.p50[i] = point.p50;
            series.p99[i] = point.p99;
          }
        }
      }
      for (const cache of result.caches) {
        const series = view.cache(cache.name);
        for (const [at, hits, misses] of cache.series) {
          const i = view.slot(at);
          if (i < 0) continue;
          series.hits[i] += hits;
          series.misses[i] += misses;
        }
      }
      return view;
    }

    /** Adds one collector tick (live mode). A slot's p50 becomes the call-weighted mean of the
     *  ticks' medians and its p99 their maximum: close enough for a live line, and the tables
     *  read exact quantiles from the server. */
    addTick(tick, windowSecs) {
      // A tick is filed by the start of its period, as the history files it.
      const start = tickStart(tick);
      this.extendTo(start, windowSecs);
      this.now = Math.max(this.now, unixSecs(tick.at));
      const i = this.slot(start);
      if (i < 0) return;
      for (const entry of tick.sites) {
        if (!passes(entry.site)) continue;
        const series = this.site(siteKey(entry.site.kind, siteName(entry.site)), entry.site);
        const before = series.calls[i];
        series.calls[i] += entry.calls;
        series.errors[i] += entry.errors;
        series.tokens[i] += entry.input_tokens + entry.output_tokens;
        series.cost[i] += entry.known_cost_usd;
        if (entry.calls > 0) {
          const p50 = series.p50[i];
          series.p50[i] =
            p50 == null ? entry.p50 : (p50 * before + entry.p50 * entry.calls) / (before + entry.calls);
          series.p99[i] = Math.max(series.p99[i] ?? 0, entry.p99);
        }
      }
      for (const cache of tick.caches || []) {
        const series = this.cache(cache.name);
        series.hits[i] += cache.hits;
        series.misses[i] += cache.misses;
      }
    }
  }

  // ---- Reading the API -------------------------------------------------------------------------

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
      const [sites, bySite, byKind, errors, events, memory, estimates, models, insights, exports, objectives] = await Promise.all([
        getJson("/api/sites"),
        query("kind,site", range.step),
        // The totals per kind, with exact quantiles over the whole range (one wide point).
        query("kind", range.secs),
        getOptional("/api/errors", { patterns: [], dropped: 0 }),
        getOptional("/api/events", null, { ...state.filters, limit: EVENTS_SHOWN }),
        getOptional("/api/memory", null),
        getOptional("/api/estimates", { pipelines: [] }),
        getOptional("/api/models", { models: [] }),
        getOptional("/api/insights", null),
        getOptional("/api/exports", { exports: [] }),
        getOptional("/api/objectives", { objectives: [] }),
      ]);
      if (generation !== state.generation) return;
      state.sites = sites.sites || [];
      const meta = metaLookup(state.sites);
      state.data = { bySite, byKind, errors, events, memory, estimates, models, insights, exports, objectives, at: Date.now() };
      // Live, the charts are read once and then follow the ticks; they are read again only when
      // there is no stream to follow, or it came back after a gap.
      const followTicks = state.range === "live" && state.stream.up && state.view && !state.reseed;
      if (!followTicks) {
        state.reseed = false;
        state.view = View.fromQuery(bySite, meta);
        if (state.range === "live") {
          // Ticks that came while the query was being answered.
          for (const tick of state.recentTicks) {
            if (tick.receivedAt >= sentAt) state.view.addTick(tick, liveWindowSecs());
          }
        }
      }
      state.memory = memory && Array.isArray(memory.history) ? memory.history.slice() : [];
      showDashboard();
      clearBanner();
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

  const liveWindowSecs = () => RANGES.live.secs;

  /** Finds a site's description by kind and name (what the query groups by). */
  function metaLookup(sites) {
    const byKey = new Map();
    for (const site of sites) {
      const key = siteKey(site.kind, siteName(site));
      if (!byKey.has(key)) byKey.set(key, site);
    }
    return (kind, name) => byKey.get(siteKey(kind, name)) || { kind, name };
  }

  function handleFailure(error) {
    if (error instanceof HttpError && error.status === 401) {
      const sent = token.current() !== "";
      if (sent) token.clear();
      stopStream();
      showAuth(sent ? `The token was not accepted: ${error.message}. Check it and try again.` : "");
      return;
    }
    if (error instanceof NetworkError) {
      showBanner("The server cannot be reached; retrying every few seconds.");
      setStatus("error", "Disconnected");
    } else if (error instanceof HttpError) {
      showBanner(`The dashboard API answered an error: ${error.message}`);
      setStatus("error", "API error");
    } else {
      // A bug of this page: say so rather than blame the server.
      console.error(error);
      showBanner(`The page could not show the data: ${error.message}`);
    }
  }

  // ---- The live stream ---------------------------------------------------------------------------

  // The stream needs the bearer header, which EventSource cannot send: read it with fetch and
  // parse the Server-Sent Events frames here.
  async function runStream() {
    stopStream();
    const controller = new AbortController();
    state.stream.controller = controller;
    let delayMs = 1000;
    while (!controller.signal.aborted) {
      try {
        const response = await fetch(apiUrl("/api/stream"), {
          headers: { Accept: "text/event-stream", ...authHeaders() },
          cache: "no-store",
          credentials: "omit",
          signal: controller.signal,
        });
        if (response.status === 401) {
          handleFailure(new HttpError(401, await response.json().catch(() => null)));
          return;
        }
        if (!response.ok || !response.body) throw new Error(`stream: HTTP ${response.status}`);
        state.stream.up = true;
        delayMs = 1000;
        setStatus("live", "Live");
        // Read the charts afresh once, then follow the ticks.
        state.reseed = true;
        refresh();
        await readEvents(response.body, (event, data) => {
          if (event === "tick") onTick(JSON.parse(data));
        });
      } catch (error) {
        if (controller.signal.aborted) return;
      }
      // Dropped or refused: poll meanwhile, and try again later, waiting longer each time.
      state.stream.up = false;
      setStatus("polling", `Polling — stream reconnecting in ${Math.round(delayMs / 1000)} s`);
      await sleep(delayMs, controller.signal);
      delayMs = Math.min(delayMs * 2, 30000);
    }
  }

  function stopStream() {
    if (state.stream.controller) state.stream.controller.abort();
    state.stream.controller = null;
    state.stream.up = false;
  }

  /** Waits `ms`, or less if `signal` aborts. */
  function sleep(ms, signal) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done);
    });
  }

  /** Calls `onEvent(event, data)` for each event of an SSE body, until it ends. */
  async function readEvents(body, onEvent) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let carriage = false; // a chunk ended in "\r": a "\n" starting the next belongs to it
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      let text = value;
      if (carriage && text.startsWith("\n")) text = text.slice(1);
      carriage = text.endsWith("\r");
      buffer += text.replace(/\r\n?/g, "\n");
      // An event ends at a blank line.
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message";
        const data = [];
        for (const line of frame.split("\n")) {
          if (line === "" || line.startsWith(":")) continue; // a comment: keep-alive
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let fieldValue = colon < 0 ? "" : line.slice(colon + 1);
          if (fieldValue.startsWith(" ")) fieldValue = fieldValue.slice(1);
          if (field === "event") event = fieldValue;
          else if (field === "data") data.push(fieldValue);
        }
        if (data.length > 0) onEvent(event, data.join("\n"));
      }
    }
  }

  /** One collector tick: live charts move, running totals grow. */
  function onTick(tick) {
    const at = unixSecs(tick.at);
    tick.receivedAt = Date.now();
    clockSkew = at - tick.receivedAt / 1000;
    clockKnown = true;
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
    if (state.range === "live" && state.view) state.view.addTick(tick, liveWindowSecs());
    scheduleRender();
  }

  let renderPending = false;
  let lastRender = 0;

  /** Redraws at most twice a second, however fast the ticks come. */
  function scheduleRender() {
    if (renderPending) return;
    renderPending = true;
    const wait = Math.max(0, 500 - (Date.now() - lastRender));
    setTimeout(() => {
      renderPending = false;
      lastRender = Date.now();
      if (state.data) {
        if (state.range === "live") {
          renderCharts();
          renderLiveRate();
        }
        renderSiteCounts();
      }
    }, wait);
  }

  // ---- Rendering ---------------------------------------------------------------------------------

  const charts = {};

  function renderAll() {
    renderFilterOptions();
    renderInsights();
    renderTiles();
    renderCharts();
    renderErrors();
    renderEvents();
    renderPipelines();
    renderModels();
    renderStageTokens();
    renderSites();
    renderCaches();
    renderExports();
    renderObjectives();
    const range = RANGES[state.range];
    setText("updated-note", `${range.label} · updated ${new Date(state.data.at).toLocaleTimeString()}`);
    document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
  }

  const KIND_ORDER = ["handler", "stage", "tokens"];
  const KIND_NAMES = { handler: "handlers", stage: "stages", tokens: "token calls" };

  /** The kind the headline figures are about: the filter's, else the outermost one present. */
  function primaryKind() {
    if (state.filters.kind) return state.filters.kind;
    const present = new Set(state.sites.filter(passes).map((s) => s.kind));
    return KIND_ORDER.find((k) => present.has(k)) || "handler";
  }

  /** The sites a chart shows: those of `kind` in the view, the busiest `limit` first. */
  function viewSites(kind, limit) {
    return [...state.view.sites.entries()]
      .filter(([, s]) => s.meta.kind === kind && passes(s.meta))
      .map(([key, s]) => ({ key, series: s, total: s.calls.reduce((a, b) => a + b, 0) }))
      .sort((a, b) => b.total - a.total || a.key.localeCompare(b.key))
      .slice(0, limit);
  }

  function labelOf(meta) {
    if (meta.kind === "stage" && meta.pipeline) return `${meta.pipeline} · ${meta.stage || meta.name}`;
    return siteName(meta);
  }

  function renderCharts() {
    const view = state.view;
    if (!view) return;
    const step = view.step;
    // The newest slot is still filling: its rate is over the part that has passed, and it is left
    // out while that part is too short to say anything.
    const last = view.times.length - 1;
    const elapsed = last >= 0 ? Math.min(step, Math.max(0, view.now - view.times[last])) : 0;
    const shown = last >= 0 && elapsed < step / 4 ? last : view.times.length;
    // Live, the charts start where the data does (a minute at least), not five minutes back
    // from a process that started seconds ago.
    const first = state.range === "live" ? firstSlotWithData(view, Math.max(0, shown - 60 / step)) : 0;
    const times = view.times.slice(first, shown);
    const cut = (values) => values.slice(first, shown);
    const perSecond = (values) => cut(values).map((v, i) => v / (i + first === last ? elapsed : step));
    const kind = primaryKind();
    const kindName = KIND_NAMES[kind] || kind;
    const note = `${kindName} · ${step < 60 ? `${Math.round(step * 10) / 10} s` : fmt.duration(step)} points`;
    for (const name of ["rate", "latency", "errors"])
      setText(document.querySelector(`[data-note="${name}"]`), note);

    const busiest = viewSites(kind, 8);
    charts.rate.update(
      times,
      busiest.map(({ series }) => ({
        label: labelOf(series.meta),
        values: perSecond(series.calls),
      })),
      `No ${kindName} called in this range`,
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
      `No ${kindName} called in this range`,
    );

    const failing = viewSites(kind, 50)
      .filter(({ series }) => series.errors.some((e) => e > 0))
      .slice(0, 6);
    charts.errors.update(
      times,
      failing.map(({ series }) => ({
        label: labelOf(series.meta),
        values: cut(series.calls).map((c, i) => (c > 0 ? series.errors[i + first] / c : null)),
      })),
      `No errors in ${kindName} in this range`,
    );

    const stages = viewSites("stage", 10);
    setText(document.querySelector('[data-note="stages"]'), `${stages.length} stages`);
    charts.stages.update(
      times,
      stages.map(({ series }) => ({ label: labelOf(series.meta), values: cut(series.p50) })),
      "No stage ran in this range",
    );

    // Tokens by model: the token-tracking sites, added up by the model they name.
    const byModel = new Map();
    for (const { series } of viewSites("tokens", 100)) {
      const model =
        series.meta.model ||
        (series.meta.model_expr ? `${siteName(series.meta)} (model per call)` : siteName(series.meta));
      const sum = byModel.get(model) || new Array(view.times.length).fill(0);
      series.tokens.forEach((t, i) => (sum[i] += t));
      byModel.set(model, sum);
    }
    setText(document.querySelector('[data-note="tokens"]'), `${byModel.size} models`);
    charts.tokens.update(
      times,
      [...byModel.entries()].map(([model, sum]) => ({ label: model, values: perSecond(sum) })),
      "No tokens used in this range",
    );

    renderMemoryChart();

    const caches = [...view.caches.entries()].sort((a, b) => a[0].localeCompare(b[0])).slice(0, 8);
    charts.caches.update(
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

  /** The first slot where any site was called, but no later than `latestStart`. */
  function firstSlotWithData(view, latestStart) {
    for (let i = 0; i < latestStart; i++) {
      for (const s of view.sites.values()) if (s.calls[i] > 0) return i;
    }
    return latestStart;
  }

  /** Calls per second of `kind`'s sites over the last `secs` of the live view. */
  function recentRate(kind, secs) {
    const view = state.view;
    if (!view || view.times.length === 0) return null;
    const end = view.now;
    const start = Math.max(view.times[0], end - secs);
    let calls = 0;
    for (const s of view.sites.values()) {
      if (s.meta.kind !== kind || !passes(s.meta)) continue;
      view.times.forEach((t, i) => {
        if (t >= start) calls += s.calls[i];
      });
    }
    // Slots are whole: the first one counted began at or after `start`.
    const from = view.times.find((t) => t >= start);
    return from == null || end - from <= 0 ? null : calls / (end - from);
  }

  function renderLiveRate() {
    if (state.range !== "live" || !state.data) return;
    const kind = primaryKind();
    const rate = recentRate(kind, 10);
    setTile("tile-rate", fmt.rate(rate ?? 0), `${KIND_NAMES[kind] || kind} · last 10 s`);
  }

  function renderMemoryChart() {
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
    charts.memory.update(times, series, "No memory samples yet");
  }

  function renderTiles() {
    const { byKind, memory } = state.data;
    const kind = primaryKind();
    const range = RANGES[state.range];
    const group = byKind.groups.find((g) => g.key.kind === kind);
    const kindName = KIND_NAMES[kind] || kind;
    if (group) {
      setTile("tile-rate", fmt.rate(group.rate_per_sec), `mean · ${fmt.count(group.calls)} calls`);
      const tone = group.error_rate >= 0.05 ? "bad" : group.error_rate > 0 ? "warn" : null;
      setTile(
        "tile-errors",
        fmt.percent(group.error_rate),
        `${fmt.count(group.errors)} errors · ${fmt.count(group.client_errors)} client`,
        tone,
      );
      setTile("tile-p50", fmt.duration(group.p50), kindName);
      setTile("tile-p99", fmt.duration(group.p99), `max ${fmt.duration(group.max)}`);
    } else {
      setTile("tile-rate", "0", `no ${kindName} calls`);
      setTile("tile-errors", "–", "");
      setTile("tile-p50", "–", "");
      setTile("tile-p99", "–", "");
    }
    // Tokens are counted where they are used (token calls), and again in the stages and handlers
    // that made them: take the innermost kind present so nothing counts twice.
    const tokenGroup = ["tokens", "stage", "handler"]
      .map((k) => byKind.groups.find((g) => g.key.kind === k))
      .find((g) => g && g.input_tokens + g.output_tokens > 0);
    if (tokenGroup) {
      setTile(
        "tile-tokens",
        fmt.compact(tokenGroup.input_tokens + tokenGroup.output_tokens),
        `${fmt.compact(tokenGroup.input_tokens)} in · ${fmt.compact(tokenGroup.output_tokens)} out`,
      );
      const unpriced = tokenGroup.cost_usd == null;
      setTile(
        "tile-cost",
        (unpriced ? "≥ " : "") + fmt.usd(costOf(tokenGroup)),
        unpriced ? "some models have no price" : range.label,
      );
    } else {
      setTile("tile-tokens", "0", range.label);
      setTile("tile-cost", "$0", range.label);
    }
    const now = (memory && memory.now) || state.memory[state.memory.length - 1];
    if (now) {
      const extra =
        now.heap_bytes != null
          ? `heap ${fmt.bytes(now.heap_bytes)}`
          : `virtual ${fmt.bytes(now.virtual_bytes)}`;
      const suspected = memory && memory.leak && memory.leak.suspected;
      setTile(
        "tile-memory",
        fmt.bytes(now.rss_bytes),
        suspected ? "leak suspected" : extra,
        suspected ? "bad" : null,
      );
    } else {
      setTile("tile-memory", "–", "not available");
    }
    renderLeak(memory);
    renderLiveRate();
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

  function renderInsights() {
    const list = $("insights");
    const insights = state.data.insights && state.data.insights.insights;
    const items = [];
    if (!insights) {
      items.push(
        el(
          "li",
          { "data-severity": "info" },
          el("span", { class: "sev", text: "info" }),
          "Insights are not available from this server.",
        ),
      );
    } else if (insights.length === 0) {
      items.push(
        el(
          "li",
          { "data-severity": "ok" },
          el("span", { class: "sev", text: "ok" }),
          "Nothing stands out right now.",
        ),
      );
    } else {
      for (const insight of insights) {
        items.push(
          el(
            "li",
            { "data-severity": insight.severity, "data-kind": insight.kind },
            el("span", { class: "sev", text: insight.severity }),
            insight.message,
          ),
        );
      }
    }
    list.replaceChildren(...items);
  }

  function renderErrors() {
    const { patterns, dropped } = state.data.errors;
    const shown = patterns.filter((p) => passes(p.site));
    const rows = shown
      .slice(0, 100)
      .map((p) =>
        el(
          "tr",
          { "data-site-id": p.site.id },
          siteCell(p.site),
          el(
            "td",
            { class: "mono wrap", title: p.example },
            p.pattern,
            el("div", { class: "muted", text: p.error_type }),
          ),
          el("td", { class: "num bad", text: fmt.count(p.count) }),
          el("td", { class: "muted", text: fmt.ago(unixSecs(p.last_seen)) }),
        ),
      );
    fillTable($("errors-table"), rows, "No errors recorded.");
    setText(
      "errors-note",
      `${shown.length} patterns since start` + (dropped ? ` · ${fmt.count(dropped)} not grouped` : ""),
    );
  }

  /** A table cell naming a site: its kind, then its name. */
  function siteCell(site) {
    return el("td", {}, el("span", { class: "kind", "data-kind": site.kind, text: site.kind }), " ", siteName(site));
  }

  /** Rows of the events table: a screenful to scroll, small enough to read again every refresh. */
  const EVENTS_SHOWN = 50;
  const REASON_NAMES = { failed: "failed", outlier: "slow outlier", sampled: "sampled" };
  const OUTCOME_NAMES = { ok: "ok", error: "error", client_error: "client error" };

  /** The newest kept calls, filtered by kind, pipeline and site as the rest of the page is. */
  function renderEvents() {
    const answer = state.data.events;
    if (!answer) {
      fillTable($("events-table"), [], "Events could not be read from this server.");
      setText("events-note", "");
      return;
    }
    const rows = answer.events.map((e) =>
      el(
        "tr",
        { "data-site-id": e.site.id, "data-reason": e.reason, "data-outcome": e.outcome },
        el("td", { title: new Date(e.at * 1000).toLocaleString(), text: clock(e.at, true) }),
        siteCell(e.site),
        el(
          "td",
          {},
          el("span", { class: "reason", "data-reason": e.reason, text: REASON_NAMES[e.reason] || e.reason }),
        ),
        el("td", { class: e.outcome === "error" ? "bad" : null, text: OUTCOME_NAMES[e.outcome] || e.outcome }),
        el("td", { class: "num", text: e.status == null ? "–" : String(e.status) }),
        el("td", { class: "num", text: fmt.duration(e.duration_secs) }),
        el("td", { class: "num", text: `${fmt.bytes(e.request_bytes)} / ${fmt.bytes(e.response_bytes)}` }),
        el("td", { class: "mono muted wrap", text: e.error_type || "" }),
        el("td", { class: "mono wrap", "data-field": "message", text: e.error_message || "" }),
      ),
    );
    fillTable($("events-table"), rows, "No failed, slow or sampled call kept.");
    setText(
      "events-note",
      `newest ${rows.length} of ${fmt.count(answer.matched)} kept` +
        (answer.evicted ? ` · ${fmt.count(answer.evicted)} older ones dropped` : ""),
    );
  }

  function renderPipelines() {
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
    setText(
      document.querySelector('[data-note="pipelines"]'),
      `${pipelines.length} pipelines · ${RANGES[state.range].label}`,
    );
    if (pipelines.length === 0) {
      container.replaceChildren(
        el("p", { class: "empty-note", text: "No pipeline stages are instrumented." }),
      );
      return;
    }
    container.replaceChildren(
      ...pipelines.map((pipeline) => {
        const estimate = estimates.get(pipeline);
        const groups = inRange.get(pipeline) || new Map();
        // The stages in run order when the estimate knows it, else by name.
        const stageNames = estimate
          ? estimate.stages.map((s) => s.stage)
          : [
              ...new Set(state.sites.filter((s) => s.pipeline === pipeline).map((s) => s.stage || s.name)),
            ].sort();
        const shares = estimate
          ? new Map(estimate.stages.map((s) => [s.stage, s.share]))
          : shareByTime(groups);
        const bar = el("div", {
          class: "stack",
          role: "img",
          "aria-label": `${pipeline}: share of run time by stage`,
        });
        for (const stage of stageNames) {
          const share = shares.get(stage) || 0;
          if (share <= 0) continue;
          const part = el("span", { title: `${stage}: ${fmt.percent(share)}` });
          part.style.width = (share * 100).toFixed(2) + "%";
          part.style.background = colourOf(`${pipeline} · ${stage}`);
          bar.append(part);
        }
        const rows = stageNames.map((stage) => {
          const group = groups.get(stage);
          return el(
            "tr",
            { "data-stage": stage },
            el("td", {}, swatch(colourOf(`${pipeline} · ${stage}`)), stage),
            el("td", { class: "num", text: group ? fmt.count(group.calls) : "0" }),
            el("td", { class: "num", text: group ? fmt.duration(group.p50) : "–" }),
            el("td", { class: "num", text: group ? fmt.duration(group.p99) : "–" }),
            el("td", { class: "num", text: group && group.errors ? fmt.count(group.errors) : "0" }),
            el("td", { class: "num", text: fmt.percent(shares.get(stage) || 0) }),
          );
        });
        const table = el(
          "table",
          { class: "table" },
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              el("th", { text: "Stage" }),
              el("th", { class: "num", text: "Calls" }),
              el("th", { class: "num", text: "p50" }),
              el("th", { class: "num", text: "p99" }),
              el("th", { class: "num", text: "Errors" }),
              el("th", { class: "num", text: "Share" }),
            ),
          ),
          el("tbody", {}, ...rows),
        );
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
      }),
    );
  }

  function swatch(colour) {
    const node = el("span", { class: "swatch" });
    node.style.background = colour;
    return node;
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

  /** Two durations as "p50 / p99", or "–" without streamed calls. */
  function timingPair(streamed, p50, p99) {
    return streamed > 0 ? `${fmt.duration(p50)} / ${fmt.duration(p99)}` : "–";
  }

  function renderModels() {
    const legend = $("kinds-legend");
    if (!legend.childElementCount) {
      legend.replaceChildren(
        ...TOKEN_KINDS.map((k) => el("span", {}, swatch(k.colour), k.label)),
      );
    }
    const models = state.data.models.models || [];
    const rows = models.map((m) => {
      const cost = m.cost_usd != null ? fmt.usd(m.cost_usd) : `≥ ${fmt.usd(m.known_cost_usd)}`;
      const tokens = tokensByKind(m);
      const total = TOKEN_KINDS.reduce((sum, k) => sum + tokens[k.kind], 0);
      const mix = el("div", {
        class: "stack mix",
        role: "img",
        "aria-label": `${m.model}: tokens by kind`,
      });
      for (const k of TOKEN_KINDS) {
        if (tokens[k.kind] <= 0 || total <= 0) continue;
        const share = tokens[k.kind] / total;
        const part = el("span", { title: `${k.label}: ${fmt.compact(tokens[k.kind])} (${fmt.percent(share)})` });
        part.style.width = (share * 100).toFixed(2) + "%";
        part.style.background = k.colour;
        mix.append(part);
      }
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
        el("td", { class: "num", "data-field": "calls", text: fmt.count(m.calls) }),
        el("td", {}, mix),
        ...kindCells,
        el("td", { class: "num", "data-field": "cost", text: cost }),
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
    });
    fillTable($("models-table"), rows, "No model has been called.");
  }

  function renderStageTokens() {
    const meta = metaLookup(state.sites);
    const rows = state.data.bySite.groups
      .filter((g) => g.key.kind === "stage" && g.input_tokens + g.output_tokens > 0)
      .sort((a, b) => costOf(b) - costOf(a) || b.input_tokens - a.input_tokens)
      .map((g) =>
        el(
          "tr",
          {},
          el("td", { class: "wrap", text: labelOf(meta("stage", g.key.site)) }),
          el("td", { class: "num", text: fmt.compact(g.input_tokens) }),
          el("td", { class: "num", text: fmt.compact(g.output_tokens) }),
          el("td", { class: "num", text: (g.cost_usd == null ? "≥ " : "") + fmt.usd(costOf(g)) }),
        ),
      );
    setText(document.querySelector('[data-note="stage-tokens"]'), RANGES[state.range].label);
    fillTable($("stage-tokens-table"), rows, "No stage used tokens in this range.");
  }

  function renderCaches() {
    const caches = state.data.bySite.caches || [];
    setText(document.querySelector('[data-note="caches"]'), RANGES[state.range].label);
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

  /** What an objective aims at, in words. */
  function goalText(goal) {
    const per = (p) => (p === "call" ? "a call" : p === "run" ? "a run" : p && p.period !== undefined ? `per ${fmt.duration(p.period)}` : "");
    switch (goal.type) {
      case "success_rate":
        return `${(goal.target * 100).toPrecision(4).replace(/\.?0+$/, "")} % succeed`;
      case "latency":
        return `${(goal.target * 100).toPrecision(4).replace(/\.?0+$/, "")} % within ${fmt.duration(goal.threshold)}`;
      case "cost":
        return `≤ $${goal.max_usd} ${per(goal.per)}`;
      case "tokens":
        return `≤ ${fmt.count(goal.max)} tokens ${per(goal.per)}`;
      default:
        return goal.type;
    }
  }

  /** Each objective: state, indicator, budget left and burn rates, the sites it covers. */
  function renderObjectives() {
    const objectives = (state.data.objectives && state.data.objectives.objectives) || [];
    const body = document.querySelector("#objectives-table tbody");
    if (objectives.length === 0) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: "12", class: "muted", text: "No objective declared." })));
      return;
    }
    body.replaceChildren(
      ...objectives.map((o) => {
        const goal = o.objective.goal;
        const ratio = goal.type === "success_rate" || goal.type === "latency";
        const indicator =
          o.indicator === null ? "no calls yet" : ratio ? `${fmt.percent(o.indicator)} good` : goal.type === "cost" ? fmt.usd(o.indicator) : fmt.count(o.indicator);
        const burn = (secs) => {
          const b = o.burn_rates.find((r) => Math.round(r.window) === secs);
          return el("td", { class: "num", text: b && b.rate !== null ? `${b.rate.toFixed(1)}×` : "—" });
        };
        return el(
          "tr",
          { "data-objective": o.objective.name, "data-state": o.state, title: o.insight || "" },
          el("td", { text: o.objective.name }),
          el("td", { text: goalText(goal) }),
          el("td", {}, el("span", { class: "chip", "data-state": o.state, text: o.state.replace("_", " ") })),
          el("td", { class: "num", text: indicator }),
          el("td", { class: "num", text: o.budget_remaining === null ? "—" : fmt.percent(o.budget_remaining) }),
          ...[300, 1800, 3600, 21600, 86400, 259200].map(burn),
          el("td", { text: o.sites.join(", ") }),
        );
      }),
    );
  }

  /** Whether what the process records is leaving it: each pushing exporter's figures. */
  function renderExports() {
    const exports = (state.data.exports && state.data.exports.exports) || [];
    const list = $("exports-list");
    if (exports.length === 0) {
      list.replaceChildren(el("span", { class: "muted", text: "No pushing exporter running: the data leaves only through /metrics." }));
      return;
    }
    list.replaceChildren(
      ...exports.map((e) => {
        const failing = e.failed_attempts > 0 && (!e.last_success_ms || e.queued > 0);
        return el(
          "span",
          { class: "chip", "data-exporter": e.exporter, "data-failing": String(failing) },
          `${e.exporter} → ${e.endpoint} `,
          el("b", { text: `${fmt.count(e.sent)} sent` }),
          ` · ${fmt.count(e.failed_attempts)} failed attempts · ${fmt.count(e.dropped)} dropped · ` +
            `${fmt.count(e.rejected)} rejected · ${fmt.count(e.queued)} queued · last success ` +
            (e.last_success_ms ? fmt.ago(e.last_success_ms / 1000) : "never") +
            (e.last_error ? ` · last error: ${e.last_error}` : ""),
        );
      }),
    );
  }

  function siteDetail(site) {
    if (site.kind === "handler") return site.route || "";
    if (site.kind === "stage") return `${site.pipeline || ""} · ${site.stage || site.name}`;
    const model = site.model || (site.model_expr ? `model = ${site.model_expr}` : "");
    return [model, site.provider].filter(Boolean).join(" · ");
  }

  function renderSites() {
    const sites = state.sites
      .filter(passes)
      .sort(
        (a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || siteName(a).localeCompare(siteName(b)),
      );
    const rows = sites.map((site) => {
      const s = site.stats || {};
      const called = (s.calls || 0) > 0;
      return el(
        "tr",
        {
          "data-site-id": site.id,
          "data-kind": site.kind,
          "data-name": site.name,
          "data-called": String(called),
        },
        el("td", {}, el("span", { class: "kind", "data-kind": site.kind, text: site.kind })),
        el(
          "td",
          { class: "wrap" },
          siteName(site),
          called ? null : el("span", { class: "tag", text: "not called" }),
        ),
        el("td", { class: "wrap", text: siteDetail(site) }),
        el("td", { class: "mono muted wrap", title: site.module_path, text: `${site.file}:${site.line}` }),
        el("td", { class: "num", "data-field": "calls", text: fmt.count(s.calls) }),
        el("td", { class: "num", "data-field": "errors", text: fmt.count(s.errors) }),
        el("td", { class: "num", text: called ? fmt.duration(s.p50) : "–" }),
        el("td", { class: "num", text: called ? fmt.duration(s.p99) : "–" }),
        el("td", { class: "num", text: fmt.compact((s.input_tokens || 0) + (s.output_tokens || 0)) }),
        el("td", {
          class: "num",
          text: s.token_calls ? (s.cost_usd == null ? "≥ " : "") + fmt.usd(costOf(s)) : "–",
        }),
      );
    });
    fillTable($("sites-table"), rows, "No site matches the filters.");
    const uncalled = sites.filter((s) => !(s.stats && s.stats.calls > 0)).length;
    setText(
      "sites-note",
      `${sites.length} of ${state.sites.length} sites · ${uncalled} not called · totals since start`,
    );
  }

  /** Between refreshes, the calls and errors columns follow the ticks. */
  function renderSiteCounts() {
    const byId = new Map(state.sites.map((s) => [s.id, s]));
    for (const row of $("sites-table").tBodies[0].rows) {
      const site = byId.get(row.dataset.siteId);
      if (!site || !site.stats) continue;
      setText(row.querySelector('[data-field="calls"]'), fmt.count(site.stats.calls));
      setText(row.querySelector('[data-field="errors"]'), fmt.count(site.stats.errors));
    }
  }

  /** Fills the pipeline and site selectors from the sites, keeping the current choices. */
  function renderFilterOptions() {
    const pipelines = [...new Set(state.sites.map((s) => s.pipeline).filter(Boolean))].sort();
    setOptions(
      $("filter-pipeline"),
      "All pipelines",
      pipelines.map((p) => [p, p]),
      state.filters.pipeline,
    );
    const { kind, pipeline } = state.filters;
    const sites = state.sites
      .filter((s) => (!kind || s.kind === kind) && (!pipeline || s.pipeline === pipeline))
      .sort((a, b) => siteName(a).localeCompare(siteName(b)));
    setOptions(
      $("filter-site"),
      "All sites",
      sites.map((s) => [s.id, `${siteName(s)} (${s.kind})`]),
      state.filters.site,
    );
    $("filter-kind").value = state.filters.kind;
  }

  function setOptions(select, allLabel, options, selected) {
    const wanted = [["", allLabel], ...options];
    if (selected && !options.some(([value]) => value === selected)) wanted.push([selected, selected]);
    const current = [...select.options].map((o) => o.value + "\n" + o.textContent).join("\n\n");
    const next = wanted.map(([v, l]) => v + "\n" + l).join("\n\n");
    if (current !== next) {
      select.replaceChildren(...wanted.map(([value, label]) => el("option", { value, text: label })));
    }
    select.value = selected;
  }

  // ---- Page states: loading, token form, dashboard, errors ------------------------------------------

  function showAuth(errorText) {
    $("loading").hidden = true;
    $("dashboard").hidden = true;
    $("auth").hidden = false;
    $("sign-out").hidden = true;
    clearBanner();
    const error = $("auth-error");
    error.textContent = errorText;
    error.hidden = !errorText;
    setStatus("unauthorized", errorText ? "Token refused" : "Token needed");
    $("token-input").value = "";
    $("token-input").focus();
  }

  function showDashboard() {
    $("loading").hidden = true;
    $("auth").hidden = true;
    $("dashboard").hidden = false;
    $("sign-out").hidden = token.current() === "";
    if (!state.stream.controller) runStream();
    if (state.stream.up) setStatus("live", "Live");
    else if (document.body.dataset.status === "error") setStatus("polling", "Polling");
  }

  function showBanner(text) {
    const banner = $("banner");
    banner.textContent = text;
    banner.hidden = false;
  }

  function clearBanner() {
    $("banner").hidden = true;
  }

  function setStatus(kind, text) {
    $("status").dataset.state = kind;
    document.body.dataset.status = kind;
    setText("status-text", text);
  }

  // ---- Controls ------------------------------------------------------------------------------------

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
        const error = $("auth-error");
        error.textContent = "Enter the dashboard's token.";
        error.hidden = false;
        return;
      }
      token.set(value);
      $("auth").hidden = true;
      $("loading").hidden = false;
      setStatus("connecting", "Connecting…");
      refresh();
    });
    $("sign-out").addEventListener("click", () => {
      token.clear();
      stopStream();
      state.data = null;
      showAuth("");
    });
    window.addEventListener("hashchange", () => {
      readHash();
      changed();
    });
  }

  /** Reads again when due: every range's own period, sooner in live mode without the stream,
   *  every few seconds while nothing could be loaded. */
  function tick() {
    if (state.refreshing || !$("auth").hidden) return;
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
    if (typeof uPlot === "undefined") {
      showBanner("The chart library did not load; reload the page.");
      return;
    }
    for (const [name, format] of [
      ["rate", (v) => fmt.rate(v) + "/s"],
      ["latency", fmt.duration],
      ["errors", fmt.percent],
      ["stages", fmt.duration],
      ["tokens", (v) => fmt.compact(v) + "/s"],
      ["memory", fmt.bytes],
      ["caches", fmt.percent],
    ]) {
      charts[name] = new TimeChart($("chart-" + name), format);
    }
    readHash();
    wireControls();
    changed();
    // Try without asking: a server without a token answers, one with a token says 401 and the
    // form appears.
    refresh();
    setInterval(tick, 1000);
  }

  start();
})();
