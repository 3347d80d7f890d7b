// The results table: one row per completed step, one column per result field
// (as the results first name them), rebuilt when a later result brings a new one.

import { formatMs } from "./format.js";
import { flatRow, resultColumns } from "./results.js";

const table = document.getElementById("results");
const head = table.querySelector("thead tr");
const body = table.querySelector("tbody");
const LONGEST_CELL = 160;

let columns = [];
let failed = 0;

function cellText(column, value) {
  if (column === "index") return String(value + 1);
  if (column === "ok") return value ? "✓" : "✗";
  if (column === "elapsed_ms") return formatMs(value);
  if (value == null || (Array.isArray(value) && !value.length)) return "–";
  if (typeof value === "boolean") return value ? "yes" : "no";
  const text = Array.isArray(value)
    ? value.map((item) => (typeof item === "object" ? JSON.stringify(item) : String(item))).join(", ")
    : String(value);
  return text.length > LONGEST_CELL ? `${text.slice(0, LONGEST_CELL - 1)}…` : text;
}

// A web address is a link (only http and https: a result is third-party text).
function cellFor(column, value) {
  const isLink = typeof value === "string" && /^https?:\/\//i.test(value);
  const cell = document.createElement(isLink ? "a" : "div");
  cell.textContent = cellText(column, value);
  if (isLink) {
    cell.href = value;
    cell.target = "_blank";
    cell.rel = "noopener noreferrer";
  }
  if (cell.textContent.endsWith("…")) cell.title = String(value);
  return cell;
}

function headerText(column) {
  return { index: "#", ok: "OK", elapsed_ms: "Time" }[column] || column; // as the CSV names it
}

function rowFor(step) {
  const flat = flatRow(step);
  const row = document.createElement("tr");
  row.dataset.index = step.index;
  row.dataset.ok = String(step.ok);
  row.className = step.ok ? "ok" : "fail";
  for (const column of columns) {
    const td = document.createElement("td");
    td.dataset.column = column;
    td.append(cellFor(column, flat[column]));
    row.append(td);
  }
  return row;
}

function insertRow(step) {
  const last = body.lastElementChild;
  const before = !last || Number(last.dataset.index) < step.index
    ? null // the usual case: steps arrive in order
    : [...body.children].find((r) => Number(r.dataset.index) > step.index);
  body.insertBefore(rowFor(step), before || null);
  failed += step.ok ? 0 : 1;
}

// All of `steps` (in index order), with the columns they call for.
export function showSteps(steps) {
  columns = ["index", "ok", ...resultColumns(steps.map(flatRow)), "elapsed_ms"];
  head.replaceChildren(...columns.map((column) => {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = headerText(column);
    return th;
  }));
  body.replaceChildren();
  failed = 0;
  for (const step of steps) insertRow(step);
}

// One more step; `allSteps` in case it names a field no column shows yet.
export function addStep(step, allSteps) {
  if (Object.keys(flatRow(step)).some((key) => !columns.includes(key))) showSteps(allSteps());
  else insertRow(step);
}

export function failedCount() {
  return failed;
}
