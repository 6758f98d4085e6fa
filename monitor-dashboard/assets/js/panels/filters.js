// The pipeline and site selectors in the top bar, filled from the sites.

import { $, el } from "../dom.js";
import { siteName } from "../state.js";

/** Fills the selectors from the sites, keeping the current choices. */
export function render(state) {
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

/** Replaces a select's options only when they differ, so an open menu is not disturbed. */
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
