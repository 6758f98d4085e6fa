// "What to look at": the server's insights, most severe first as it sends them.

import { $, el } from "../dom.js";

/** One line: its severity's badge, then the message. */
const item = (attrs, severity, message) =>
  el("li", attrs, el("span", { class: "sev", text: severity }), message);

export function render(state) {
  const insights = state.data.insights && state.data.insights.insights;
  let items;
  if (!insights) {
    items = [item({ "data-severity": "info" }, "info", "Insights are not available from this server.")];
  } else if (insights.length === 0) {
    items = [item({ "data-severity": "ok" }, "ok", "Nothing stands out right now.")];
  } else {
    items = insights.map((insight) =>
      item({ "data-severity": insight.severity, "data-kind": insight.kind }, insight.severity, insight.message),
    );
  }
  $("insights").replaceChildren(...items);
}
