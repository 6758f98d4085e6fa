// Building the page's elements. Data only ever reaches the page as text (`textContent`, attribute
// values), never as markup: site names and error messages can contain anything.

import { siteName } from "./state.js";

export const $ = (id) => document.getElementById(id);

/** An element with attributes and children; strings become text nodes. */
export function el(tag, attrs = {}, ...children) {
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

/** Sets an element's text (by id or the element), leaving it alone when unchanged. */
export function setText(id, text) {
  const node = typeof id === "string" ? $(id) : id;
  if (node && node.textContent !== text) node.textContent = text;
}

/** Sets the note in a card's head, `data-note="<name>"`. */
export function setNote(name, text) {
  setText(document.querySelector(`[data-note="${name}"]`), text);
}

/** Sets a summary tile's value, its line below, and its tone (`bad`, `warn` or none). */
export function setTile(id, value, sub, tone) {
  const tile = $(id);
  setText(tile.querySelector(".tile-value"), value);
  setText(tile.querySelector(".tile-sub"), sub || "");
  if (tone) tile.dataset.tone = tone;
  else delete tile.dataset.tone;
}

/** Replaces a table's body with `rows`, or one row saying `emptyText`. */
export function fillTable(table, rows, emptyText) {
  const body = table.tBodies[0];
  if (rows.length === 0) {
    const columns = table.tHead.rows[0].cells.length;
    rows = [el("tr", {}, el("td", { class: "empty-row", colspan: columns, text: emptyText }))];
  }
  body.replaceChildren(...rows);
}

/** A table cell naming a site: its kind, then its name. */
export function siteCell(site) {
  return el("td", {}, el("span", { class: "kind", "data-kind": site.kind, text: site.kind }), " ", siteName(site));
}

/** A small square of `colour`, for legends. */
export function swatch(colour) {
  const node = el("span", { class: "swatch" });
  node.style.background = colour;
  return node;
}

/** A bar of shares: `parts` are `{share, colour, title}`, shares of 0 or less left out. */
export function stackBar(attrs, parts) {
  const bar = el("div", attrs);
  for (const { share, colour, title } of parts) {
    if (!(share > 0)) continue;
    const part = el("span", { title });
    part.style.width = (share * 100).toFixed(2) + "%";
    part.style.background = colour;
    bar.append(part);
  }
  return bar;
}
