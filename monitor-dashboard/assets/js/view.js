// The charts' data: per-site series on one time axis, read from `/api/query` and moved along by
// the collector's ticks in live mode.

import { serverNow, tickStart, unixSecs } from "./api.js";
import { passes, siteKey, siteName } from "./state.js";

const FIELDS = ["calls", "errors", "tokens", "cost", "p50", "p99"];

/** Per-site series on a shared time axis: `times` (Unix seconds, `step` apart) and, per
 *  `kind/name`, arrays of calls, errors, tokens, cost, p50 and p99 aligned with `times`. */
export class View {
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
        for (const field of FIELDS) s[field].splice(0, excess);
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

  /** Adds one collector tick (live mode), the sites that pass `filters`. A slot's p50 becomes
   *  the call-weighted mean of the ticks' medians and its p99 their maximum: close enough for a
   *  live line, and the tables read exact quantiles from the server. */
  addTick(tick, windowSecs, filters) {
    // A tick is filed by the start of its period, as the history files it.
    const start = tickStart(tick);
    this.extendTo(start, windowSecs);
    this.now = Math.max(this.now, unixSecs(tick.at));
    const i = this.slot(start);
    if (i < 0) return;
    for (const entry of tick.sites) {
      if (!passes(filters, entry.site)) continue;
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

  /** The sites of `kind` that pass `filters`, the busiest `limit` first. */
  busiest(kind, limit, filters) {
    return [...this.sites.entries()]
      .filter(([, s]) => s.meta.kind === kind && passes(filters, s.meta))
      .map(([key, s]) => ({ key, series: s, total: s.calls.reduce((a, b) => a + b, 0) }))
      .sort((a, b) => b.total - a.total || a.key.localeCompare(b.key))
      .slice(0, limit);
  }

  /** What the charts show: `times`, and `cut` and `perSecond` to fit a series to them
   *  (`first` is the index in the view of the first time shown). */
  shown(live) {
    const step = this.step;
    // The newest slot is still filling: its rate is over the part that has passed, and it is left
    // out while that part is too short to say anything.
    const last = this.times.length - 1;
    const elapsed = last >= 0 ? Math.min(step, Math.max(0, this.now - this.times[last])) : 0;
    const end = last >= 0 && elapsed < step / 4 ? last : this.times.length;
    // Live, the charts start where the data does (a minute at least), not five minutes back
    // from a process that started seconds ago.
    const first = live ? this.firstSlotWithData(Math.max(0, end - 60 / step)) : 0;
    const cut = (values) => values.slice(first, end);
    return {
      first,
      times: cut(this.times),
      cut,
      perSecond: (values) => cut(values).map((v, i) => v / (i + first === last ? elapsed : step)),
    };
  }

  /** The first slot where any site was called, but no later than `latestStart`. */
  firstSlotWithData(latestStart) {
    for (let i = 0; i < latestStart; i++) {
      for (const s of this.sites.values()) if (s.calls[i] > 0) return i;
    }
    return latestStart;
  }

  /** Calls per second of `kind`'s sites that pass `filters`, over the last `secs`. */
  recentRate(kind, secs, filters) {
    if (this.times.length === 0) return null;
    const end = this.now;
    const start = Math.max(this.times[0], end - secs);
    let calls = 0;
    for (const s of this.sites.values()) {
      if (s.meta.kind !== kind || !passes(filters, s.meta)) continue;
      this.times.forEach((t, i) => {
        if (t >= start) calls += s.calls[i];
      });
    }
    // Slots are whole: the first one counted began at or after `start`.
    const from = this.times.find((t) => t >= start);
    return from == null || end - from <= 0 ? null : calls / (end - from);
  }
}
