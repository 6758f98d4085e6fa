// Every figure the page shows is written here, so that a count, a duration, a size, a share or a
// cost reads the same in every panel. Each gives "–" for a missing value.

export function count(n) {
  return n == null ? "–" : Math.round(n).toLocaleString("en-US");
}

/** `950`, `1.2K`, `3.4M`. */
export function compact(n) {
  if (n == null) return "–";
  return new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 }).format(n);
}

/** Events per second, with fewer decimals the larger it is. */
export function rate(perSec) {
  if (perSec == null || !isFinite(perSec)) return "–";
  if (perSec === 0) return "0";
  if (perSec < 10) return perSec.toFixed(2);
  if (perSec < 100) return perSec.toFixed(1);
  return count(perSec);
}

/** Seconds as µs, ms, s or minutes. */
export function duration(secs) {
  if (secs == null || !isFinite(secs)) return "–";
  if (secs === 0) return "0";
  if (secs < 1e-3) return (secs * 1e6).toFixed(secs < 1e-4 ? 1 : 0) + " µs";
  if (secs < 1) return (secs * 1e3).toFixed(secs < 0.01 ? 2 : secs < 0.1 ? 1 : 0) + " ms";
  if (secs < 60) return secs.toFixed(secs < 10 ? 2 : 1) + " s";
  if (secs % 3600 === 0) return `${secs / 3600} h`;
  const minutes = Math.floor(secs / 60);
  const rest = Math.round(secs - minutes * 60);
  return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
}

/** The width of a chart's points: whole seconds read better than `duration`'s "1.00 s". */
export function step(secs) {
  return secs < 60 ? `${Math.round(secs * 10) / 10} s` : duration(secs);
}

/** Binary units: KiB, MiB, … */
export function bytes(n) {
  if (n == null || !isFinite(n)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = Math.abs(n);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return (n < 0 ? "-" : "") + value.toFixed(unit === 0 ? 0 : 1) + " " + units[unit];
}

/** A ratio (0–1) as a percentage, with two decimals below 1 %. */
export function percent(ratio) {
  if (ratio == null || !isFinite(ratio)) return "–";
  const pct = ratio * 100;
  if (pct === 0) return "0 %";
  return pct.toFixed(pct < 1 ? 2 : 1) + " %";
}

/** A target ratio as declared, to four significant digits and no trailing zeros: "99.9 %". */
export function targetPercent(ratio) {
  return `${(ratio * 100).toPrecision(4).replace(/\.?0+$/, "")} %`;
}

/** How many times a pace its budget allows: "2.5×". */
export function multiple(value) {
  return `${value.toFixed(1)}×`;
}

export function usd(value) {
  if (value == null || !isFinite(value)) return "–";
  if (value === 0) return "$0";
  if (value < 0.01) return "$" + value.toFixed(4);
  if (value < 100) return "$" + value.toFixed(2);
  return "$" + count(value);
}

/** The cost a group reports: the full cost when every call had a price, else what is known. */
export function costOf(item) {
  return item.cost_usd != null ? item.cost_usd : item.known_cost_usd || 0;
}

/** A group's cost, "≥ " when some of its calls had no price (the cost is then a lower bound). */
export function cost(item) {
  return (item.cost_usd == null ? "≥ " : "") + usd(costOf(item));
}

/** How long ago a Unix time was, in the largest whole unit. */
export function ago(unixSecs) {
  if (unixSecs == null) return "–";
  const secs = Math.max(0, Date.now() / 1000 - unixSecs);
  if (secs < 60) return `${Math.round(secs)} s ago`;
  if (secs < 3600) return `${Math.round(secs / 60)} min ago`;
  if (secs < 86400) return `${Math.round(secs / 3600)} h ago`;
  return `${Math.round(secs / 86400)} d ago`;
}

/** A clock time, 24-hour, with seconds when `seconds`. */
export function clock(unix, seconds) {
  const options = { hour: "2-digit", minute: "2-digit", hour12: false };
  if (seconds) options.second = "2-digit";
  return new Date(unix * 1000).toLocaleTimeString([], options);
}
