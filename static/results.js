// One step as a table row, and all steps as the JSON and CSV downloads.

import { formatBytes, formatMs, plural } from "./format.js";

export const COLUMNS = {
  sleep: ["#", "Result", "Time"],
  scrape: ["#", "Page", "Status", "Size", "Time", "Notes"],
};

const SCRAPE_ERRORS = {
  timeout: "The site took too long to answer.",
  connect_error: "Could not connect to the site.",
  blocked: "Blocked for safety: the address is private or not allowed.",
  robots_disallowed: "The site's robots.txt asks robots not to fetch this page.",
  too_large: "The page is bigger than the size limit.",
  too_many_redirects: "The page redirected too many times.",
  http_status: "The site answered with an error status.",
  invalid_content: "The page could not be read.",
};

export function rowFor(kind, step) {
  const row = document.createElement("tr");
  row.dataset.index = step.index;
  row.dataset.ok = String(step.ok);
  row.className = step.ok ? "ok" : "fail";
  for (const cell of cellsFor(kind, step)) {
    const td = document.createElement("td");
    td.append(cell);
    row.append(td);
  }
  return row;
}

function cellsFor(kind, step) {
  const r = step.result || {};
  const number = String(step.index + 1);
  const time = formatMs(step.elapsed_ms);
  if (kind !== "scrape") {
    return [number, "count" in r ? `Counted to ${r.count}` : JSON.stringify(r), time];
  }
  const status = step.ok ? `✓ ${r.status ?? ""}` : `✗ ${r.status ?? "failed"}`;
  const size = r.bytes != null ? formatBytes(r.bytes) : "–";
  return [number, pageCell(r), status.trim(), size, time, noteFor(step.ok, r)];
}

function pageCell(r) {
  const cell = document.createElement("div");
  if (r.title) {
    const title = document.createElement("strong");
    title.textContent = r.title;
    cell.append(title);
  }
  const url = document.createElement("span");
  url.className = r.title ? "url" : "url bare";
  url.textContent = r.final_url || r.url || "";
  cell.append(url);
  return cell;
}

function noteFor(ok, r) {
  if (r.error) {
    const code = typeof r.error === "string" ? r.error : r.error.code;
    const message = typeof r.error === "object" ? r.error.message : "";
    let text = SCRAPE_ERRORS[code] || "The page could not be fetched.";
    if (code === "http_status" && r.status) text = `The site answered HTTP ${r.status}.`;
    return message && message !== text ? `${text} ${message}` : text;
  }
  const notes = [];
  if (r.content_type && !/html/.test(r.content_type)) notes.push(r.content_type);
  if (r.words != null) notes.push(plural(r.words, "word"));
  const links = Array.isArray(r.links) ? r.links.length : r.links;
  if (links != null) notes.push(plural(links, "link"));
  if (Array.isArray(r.matches) && r.matches.length) {
    const first = String(r.matches[0]).slice(0, 60);
    notes.push(`${plural(r.matches.length, "match", "matches")}: “${first}”`);
  }
  if (!ok && !notes.length) notes.push("Failed");
  return notes.join(" · ");
}

export function toJson(job, steps) {
  return JSON.stringify({ job: job.job, kind: job.kind, total: job.total, steps }, null, 2);
}

function flatten(value, prefix, into) {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) {
      flatten(inner, prefix ? `${prefix}.${key}` : key, into);
    }
  } else {
    into[prefix] = Array.isArray(value) ? JSON.stringify(value) : value;
  }
  return into;
}

function csvCell(value) {
  if (value == null) return "";
  let text = String(value);
  // A scraped title like "=HYPERLINK(...)" must not become a spreadsheet formula.
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(steps) {
  const rows = steps.map((s) => {
    const row = { index: s.index, ok: s.ok, elapsed_ms: s.elapsed_ms };
    for (const [key, value] of Object.entries(flatten(s.result, "", {}))) {
      row[key in row ? `result.${key}` : key] = value; // a result's own ok, elapsed_ms
    }
    return row;
  });
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  if (!columns.length) columns.push("index", "ok", "elapsed_ms");
  const lines = [columns.map(csvCell).join(",")];
  for (const row of rows) lines.push(columns.map((c) => csvCell(row[c])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}
