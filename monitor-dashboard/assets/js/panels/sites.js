// Instrumented sites: every site, called or not, with its totals since the start.

import * as fmt from "../format.js";
import { $, el, fillTable, setText } from "../dom.js";
import { KIND_ORDER, passes, siteName } from "../state.js";

/** What a site is about: a handler's route, a stage's pipeline, a token call's model. */
function siteDetail(site) {
  if (site.kind === "handler") return site.route || "";
  if (site.kind === "stage") return `${site.pipeline || ""} · ${site.stage || site.name}`;
  const model = site.model || (site.model_expr ? `model = ${site.model_expr}` : "");
  return [model, site.provider].filter(Boolean).join(" · ");
}

export function render(state) {
  const sites = state.sites
    .filter((s) => passes(state.filters, s))
    .sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || siteName(a).localeCompare(siteName(b)));
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
      el("td", { class: "wrap" }, siteName(site), called ? null : el("span", { class: "tag", text: "not called" })),
      el("td", { class: "wrap", text: siteDetail(site) }),
      el("td", { class: "mono muted wrap", title: site.module_path, text: `${site.file}:${site.line}` }),
      el("td", { class: "num", "data-field": "calls", text: fmt.count(s.calls) }),
      el("td", { class: "num", "data-field": "errors", text: fmt.count(s.errors) }),
      el("td", { class: "num", text: called ? fmt.duration(s.p50) : "–" }),
      el("td", { class: "num", text: called ? fmt.duration(s.p99) : "–" }),
      el("td", { class: "num", text: fmt.compact((s.input_tokens || 0) + (s.output_tokens || 0)) }),
      el("td", { class: "num", text: s.token_calls ? fmt.cost(s) : "–" }),
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
export function renderCounts(state) {
  const byId = new Map(state.sites.map((s) => [s.id, s]));
  for (const row of $("sites-table").tBodies[0].rows) {
    const site = byId.get(row.dataset.siteId);
    if (!site || !site.stats) continue;
    setText(row.querySelector('[data-field="calls"]'), fmt.count(site.stats.calls));
    setText(row.querySelector('[data-field="errors"]'), fmt.count(site.stats.errors));
  }
}
