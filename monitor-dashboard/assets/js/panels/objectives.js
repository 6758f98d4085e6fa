// Objectives: each one's goal, state, indicator, budget left and burn rates, and its sites.

import * as fmt from "../format.js";
import { el } from "../dom.js";

/** The windows of the burn-rate columns, in seconds: 5 min, 30 min, 1 h, 6 h, 1 d, 3 d. */
const BURN_WINDOWS = [300, 1800, 3600, 21600, 86400, 259200];

/** What an objective aims at, in words. */
function goalText(goal) {
  const per = (p) => {
    if (p === "call") return "a call";
    if (p === "run") return "a run";
    return p && p.period !== undefined ? `per ${fmt.duration(p.period)}` : "";
  };
  switch (goal.type) {
    case "success_rate":
      return `${fmt.targetPercent(goal.target)} succeed`;
    case "latency":
      return `${fmt.targetPercent(goal.target)} within ${fmt.duration(goal.threshold)}`;
    case "cost":
      return `≤ $${goal.max_usd} ${per(goal.per)}`;
    case "tokens":
      return `≤ ${fmt.count(goal.max)} tokens ${per(goal.per)}`;
    default:
      return goal.type;
  }
}

/** The measured indicator, in the goal's terms. */
function indicatorText(goal, indicator) {
  if (indicator === null) return "no calls yet";
  if (goal.type === "success_rate" || goal.type === "latency") return `${fmt.percent(indicator)} good`;
  return goal.type === "cost" ? fmt.usd(indicator) : fmt.count(indicator);
}

export function render(state) {
  const objectives = (state.data.objectives && state.data.objectives.objectives) || [];
  const body = document.querySelector("#objectives-table tbody");
  if (objectives.length === 0) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "12", class: "muted", text: "No objective declared." })));
    return;
  }
  body.replaceChildren(
    ...objectives.map((o) => {
      const goal = o.objective.goal;
      const burn = (secs) => {
        const b = o.burn_rates.find((r) => Math.round(r.window) === secs);
        return el("td", { class: "num", text: b && b.rate !== null ? fmt.multiple(b.rate) : "—" });
      };
      return el(
        "tr",
        { "data-objective": o.objective.name, "data-state": o.state, title: o.insight || "" },
        el("td", { text: o.objective.name }),
        el("td", { text: goalText(goal) }),
        el("td", {}, el("span", { class: "chip", "data-state": o.state, text: o.state.replace("_", " ") })),
        el("td", { class: "num", text: indicatorText(goal, o.indicator) }),
        el("td", { class: "num", text: o.budget_remaining === null ? "—" : fmt.percent(o.budget_remaining) }),
        ...BURN_WINDOWS.map(burn),
        el("td", { text: o.sites.join(", ") }),
      );
    }),
  );
}
