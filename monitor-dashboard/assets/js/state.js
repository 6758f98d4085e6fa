// What the page shows and how: the range, the filters, the latest answers of the API, and the
// rules every panel shares for which sites pass and what they are called.

// `secs`: the span shown; `step`: the width of a point, in seconds; `refreshMs`: how often the
// tables and totals are read again (charts in live mode move with every tick).
export const RANGES = {
  live: { label: "last 5 min, live", secs: 300, step: 1, refreshMs: 5000 },
  "15m": { label: "last 15 min", secs: 900, step: 10, refreshMs: 5000 },
  "1h": { label: "last hour", secs: 3600, step: 60, refreshMs: 15000 },
  "24h": { label: "last 24 h", secs: 86400, step: 600, refreshMs: 60000 },
};

export const liveWindowSecs = () => RANGES.live.secs;

export const state = {
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
  /** The Runs panel's own filters (`/api/runs`): outcome, reason kept, least duration. */
  runFilters: { outcome: "", kept: "", min_ms: "" },
  /** The trace id of the run the waterfall shows ("" for none); in the URL as `run`. */
  openRun: "",
};

/** Range and filters live in the URL's fragment, so a view can be bookmarked or shared. */
export function readHash() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  const range = params.get("range");
  if (range && RANGES[range]) state.range = range;
  for (const key of Object.keys(state.filters)) state.filters[key] = params.get(key) || "";
  state.openRun = params.get("run") || "";
}

export function writeHash() {
  const params = new URLSearchParams();
  if (state.range !== "live") params.set("range", state.range);
  for (const [key, value] of Object.entries(state.filters)) if (value) params.set(key, value);
  if (state.openRun) params.set("run", state.openRun);
  const text = params.toString();
  history.replaceState(null, "", text ? "#" + text : location.pathname + location.search);
}

// ---- Sites -----------------------------------------------------------------------------------------

/** Whether a site (from `/api/sites` or a tick) passes the filters. */
export function passes(filters, site) {
  const { kind, pipeline, site: wanted } = filters;
  return (
    (!kind || site.kind === kind) &&
    (!pipeline || site.pipeline === pipeline) &&
    (!wanted || site.id === wanted || site.name === wanted || site.qualified_name === wanted)
  );
}

export const siteKey = (kind, name) => kind + "/" + name;
/** The name that tells sites apart: `Type::method` for a method that knows its type. */
export const siteName = (site) => site.qualified_name || site.name;

/** A site's label in charts and tables: a stage with its pipeline. */
export function labelOf(meta) {
  if (meta.kind === "stage" && meta.pipeline) return `${meta.pipeline} · ${meta.stage || meta.name}`;
  return siteName(meta);
}

/** Finds a site's description by kind and name (what the query groups by). */
export function metaLookup(sites) {
  const byKey = new Map();
  for (const site of sites) {
    const key = siteKey(site.kind, siteName(site));
    if (!byKey.has(key)) byKey.set(key, site);
  }
  return (kind, name) => byKey.get(siteKey(kind, name)) || { kind, name };
}

export const KIND_ORDER = ["handler", "stage", "tokens"];
const KIND_NAMES = { handler: "handlers", stage: "stages", tokens: "token calls" };

/** A kind's name in notes: "handlers", "stages", "token calls". */
export const kindName = (kind) => KIND_NAMES[kind] || kind;

/** The kind the headline figures are about: the filter's, else the outermost one present. */
export function primaryKind(state) {
  if (state.filters.kind) return state.filters.kind;
  const present = new Set(state.sites.filter((s) => passes(state.filters, s)).map((s) => s.kind));
  return KIND_ORDER.find((k) => present.has(k)) || "handler";
}
