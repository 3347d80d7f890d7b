// Steps as flat rows: the table's columns, the CSV and the JSON download all
// come from the same flattening (nested result fields as `a.b`, a result field
// named like a step's own field as `result.ok`). No DOM here.

const STEP_FIELDS = ["index", "ok", "elapsed_ms"];

function flatten(value, prefix, into) {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) {
      flatten(inner, prefix ? `${prefix}.${key}` : key, into);
    }
  } else if (prefix) {
    into[prefix] = value;
  }
  return into;
}

// One step as {column: value}: the step's own fields, then its result's.
export function flatRow(step) {
  const row = { index: step.index, ok: step.ok, elapsed_ms: step.elapsed_ms };
  for (const [key, value] of Object.entries(flatten(step.result, "", {}))) {
    row[STEP_FIELDS.includes(key) ? `result.${key}` : key] = value;
  }
  return row;
}

// The result's columns in the order the results first name them.
export function resultColumns(rows) {
  const seen = new Set();
  for (const row of rows) {
    for (const key of Object.keys(row)) if (!STEP_FIELDS.includes(key)) seen.add(key);
  }
  return [...seen];
}

export function toJson(job, steps) {
  return JSON.stringify({ job: job.job, kind: job.kind, total: job.total, steps }, null, 2);
}

function csvCell(value) {
  if (value == null) return "";
  let text = Array.isArray(value) ? JSON.stringify(value) : String(value);
  // A scraped title like "=HYPERLINK(...)" must not become a spreadsheet formula.
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(steps) {
  const rows = steps.map(flatRow);
  const columns = [...STEP_FIELDS, ...resultColumns(rows)];
  const lines = [columns.map(csvCell).join(",")];
  for (const row of rows) lines.push(columns.map((c) => csvCell(row[c])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}
