// The summary tiles: calls per second, error rate, latency, tokens, cost and memory.

import * as fmt from "../format.js";
import { setTile } from "../dom.js";
import { RANGES, kindName, primaryKind } from "../state.js";

export function render(state) {
  const { byKind, memory } = state.data;
  const kind = primaryKind(state);
  const range = RANGES[state.range];
  const group = byKind.groups.find((g) => g.key.kind === kind);
  if (group) {
    setTile("tile-rate", fmt.rate(group.rate_per_sec), `mean · ${fmt.count(group.calls)} calls`);
    const tone = group.error_rate >= 0.05 ? "bad" : group.error_rate > 0 ? "warn" : null;
    setTile(
      "tile-errors",
      fmt.percent(group.error_rate),
      `${fmt.count(group.errors)} errors · ${fmt.count(group.client_errors)} client`,
      tone,
    );
    setTile("tile-p50", fmt.duration(group.p50), kindName(kind));
    setTile("tile-p99", fmt.duration(group.p99), `max ${fmt.duration(group.max)}`);
  } else {
    setTile("tile-rate", "0", `no ${kindName(kind)} calls`);
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
    setTile("tile-cost", fmt.cost(tokenGroup), unpriced ? "some models have no price" : range.label);
  } else {
    setTile("tile-tokens", "0", range.label);
    setTile("tile-cost", "$0", range.label);
  }
  const now = (memory && memory.now) || state.memory[state.memory.length - 1];
  if (now) {
    const extra =
      now.heap_bytes != null ? `heap ${fmt.bytes(now.heap_bytes)}` : `virtual ${fmt.bytes(now.virtual_bytes)}`;
    const suspected = memory && memory.leak && memory.leak.suspected;
    setTile("tile-memory", fmt.bytes(now.rss_bytes), suspected ? "leak suspected" : extra, suspected ? "bad" : null);
  } else {
    setTile("tile-memory", "–", "not available");
  }
  renderLiveRate(state);
}

/** Live, the calls-per-second tile follows the ticks: the last ten seconds. */
export function renderLiveRate(state) {
  if (state.range !== "live" || !state.data) return;
  const kind = primaryKind(state);
  const rate = state.view ? state.view.recentRate(kind, 10, state.filters) : null;
  setTile("tile-rate", fmt.rate(rate ?? 0), `${kindName(kind)} · last 10 s`);
}
