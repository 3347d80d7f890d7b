// stepstream's page: start a job, follow its SSE stream, resume after anything.
// The position lives in the signed cursor (every event's id); the page keeps it,
// with the results so far, in localStorage (store.js).

import * as form from "./form.js";
import { formatDuration } from "./format.js";
import { COLUMNS, rowFor, toCsv, toJson } from "./results.js";
import { forgetJob, loadJob, storeJob } from "./store.js";

const FALLBACK_AFTER_MS = 4000; // no `start` by then: a buffering proxy holds the stream
const SAVE_EVERY_MS = 300;
const POLL_RETRY_MS = 2000;
const POLL_MAX_RETRIES = 60;

const $ = (id) => document.getElementById(id);
const ui = {
  start: $("start"), offer: $("resume-offer"), offerText: $("resume-text"),
  run: $("run"), title: $("run-title"), badge: $("badge"), bar: $("bar"),
  progress: $("progress-text"), elapsed: $("elapsed"), eta: $("eta"), failed: $("failed"),
  notice: $("notice"), stop: $("stop"), cont: $("continue"),
  table: $("results"), head: document.querySelector("#results thead tr"),
  body: document.querySelector("#results tbody"),
};

// {job, id, kind, params, total, events_url, steps_url, cursor, steps: Map, startedAt,
//  endedAt, status: running | stopped | finished | failed}
let job = null;
let source = null; // the open EventSource
let poller = null; // the AbortController of the fallback loop
let fallbackTimer = 0;
let saveTimer = 0;
let failedCount = 0;
let session = { at: 0, steps: 0 }; // arrivals since this page connected, for the ETA

// ---------- keeping the job ----------

function sortedSteps() {
  return [...job.steps.values()].sort((a, b) => a.index - b.index);
}

// At most one write per SAVE_EVERY_MS while steps pour in; `now` for the moments
// that matter (start, done, stop, leaving the page).
function save(now = false) {
  if (!now) {
    saveTimer = saveTimer || setTimeout(() => save(true), SAVE_EVERY_MS);
    return;
  }
  clearTimeout(saveTimer);
  saveTimer = 0;
  if (job && !storeJob(job, sortedSteps())) {
    notice("The results are too big to keep in this browser: a reload could not resume.");
  }
}

// ---------- starting ----------

function errorOf(body, fallback) {
  return (body && body.error && body.error.message) || fallback;
}

async function startJob(event) {
  event.preventDefault();
  form.clearErrors();
  const kind = form.selectedKind();
  ui.start.disabled = true;
  try {
    const response = await fetch("api/jobs", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ kind, params: form.readParams(kind) }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      form.showFormError(errorOf(body, `The server answered ${response.status}.`));
      if (response.status === 422) form.showDetail(body.error && body.error.detail);
      return;
    }
    stopWork();
    ui.offer.hidden = true;
    job = { ...body, cursor: null, steps: new Map(), startedAt: Date.now(), status: "running" };
    save(true);
    renderAll();
    ui.run.focus();
    connect();
  } catch (err) {
    form.showFormError("Could not reach the server. Check the connection and try again.");
  } finally {
    ui.start.disabled = false;
  }
}

// ---------- the stream ----------

function relative(path) {
  return path.replace(/^\//, ""); // the API's paths are from the service's root, like the page
}

function connect() {
  stopWork();
  job.status = "running";
  job.endedAt = null;
  session = { at: Date.now(), steps: 0 };
  // EventSource sends Last-Event-ID only on its own reconnects; a fresh one
  // (after a reload) passes the saved cursor in the query.
  const url = job.cursor
    ? `${job.events_url}?last_event_id=${encodeURIComponent(job.cursor)}`
    : job.events_url;
  setBadge("connecting", "Connecting…");
  setRunning(true);
  let started = false;
  const es = new EventSource(relative(url));
  source = es;
  fallbackTimer = setTimeout(() => {
    if (!started && source === es) {
      fallBack("The stream sent nothing for a few seconds (a proxy on the way holds it back).");
    }
  }, FALLBACK_AFTER_MS);
  for (const type of ["start", "step", "done"]) {
    es.addEventListener(type, (e) => {
      started = true;
      clearTimeout(fallbackTimer);
      handle(type, JSON.parse(e.data), e.lastEventId);
    });
  }
  es.addEventListener("error", (e) => {
    if (source !== es) return;
    if (e.data) {
      handle("error", JSON.parse(e.data), e.lastEventId); // the job's own `error` event
    } else if (!started) {
      fallBack("The stream could not be opened.");
    } else if (es.readyState === EventSource.CONNECTING) {
      // EventSource retries by itself, sending the newest cursor as Last-Event-ID.
      setBadge("reconnecting", "Reconnecting…");
      notice(`The connection dropped after step ${job.steps.size}; reconnecting…`);
    } else {
      closed();
    }
  });
}

function handle(type, data, id) {
  if (id) job.cursor = id;
  if (type === "start") {
    job.total = data.total;
    if (data.resumed) {
      setBadge("resumed", `Resumed at step ${data.next + 1}`);
      notice(`Reconnected: the job goes on from step ${data.next + 1}; nothing was lost.`);
    } else {
      setBadge("live", "Live");
      notice("");
    }
  } else if (type === "step") {
    addStep(data);
  } else if (type === "done") {
    finish("finished", `Finished: ${data.ok} ok, ${data.failed} failed.`);
  } else if (type === "error") {
    finish("failed", `The job stopped: ${data.message || data.code}`);
  }
  save(type !== "step");
}

function addStep(data) {
  if (job.steps.has(data.index)) return; // each step once, whatever the reconnects
  const step = { index: data.index, ok: data.ok, result: data.result, elapsed_ms: data.elapsed_ms };
  job.steps.set(step.index, step);
  session.steps += 1;
  insertRow(step);
  renderProgress();
}

function finish(state, text) {
  stopWork();
  job.status = state;
  job.endedAt = Date.now();
  setBadge(state, state === "finished" ? "Finished" : "Failed");
  notice(text);
  setRunning(false);
  renderProgress();
  save(true);
}

// The stream closed for good without `done`: a 204 (the job had finished) or
// a refused request. Find out which and say it in words.
async function closed() {
  stopWork();
  if (job.steps.size >= job.total) return finish("finished", "Finished.");
  if (!(await tokenProblem())) fallBack("The stream was refused.");
}

async function tokenProblem() {
  let response;
  try {
    response = await fetch(`api/jobs/${job.job}`);
  } catch (err) {
    return false;
  }
  if (response.ok) return false;
  const body = await response.json().catch(() => ({}));
  const why = {
    410: "This job's link has expired, so it can no longer be resumed. Start it again.",
    400: "The server refused this job's token: it was changed, or signed with a key "
      + "this server no longer trusts.",
  }[response.status] || `The server cannot run this job (HTTP ${response.status}).`;
  finish("failed", `${why} (${errorOf(body, "no details")})`);
  return true;
}

// ---------- the JSON fallback: the same events, one batch per request ----------

async function fallBack(reason) {
  stopWork();
  setRunning(true);
  setBadge("fallback", "Fallback: batches");
  notice(`${reason} Switched to fetching steps in batches.`);
  const controller = new AbortController();
  poller = controller;
  let failures = 0;
  while (poller === controller) {
    let response;
    try {
      response = await fetch(relative(job.steps_url), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(job.cursor ? { cursor: job.cursor } : {}),
        signal: controller.signal,
      });
    } catch (err) {
      if (poller !== controller) return;
      if (++failures > POLL_MAX_RETRIES) return finish("failed", "The server cannot be reached.");
      setBadge("reconnecting", "Reconnecting…");
      await new Promise((resolve) => setTimeout(resolve, POLL_RETRY_MS));
      continue;
    }
    if (poller !== controller) return;
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      if (!(await tokenProblem())) finish("failed", errorOf(body, `HTTP ${response.status}`));
      return;
    }
    failures = 0;
    setBadge("fallback", "Fallback: batches");
    for (const e of body.events) handle(e.event, e.data, e.id);
    if (body.cursor) job.cursor = body.cursor;
    if (body.done && job.status === "running") finish("finished", "Finished.");
  }
}

function stopWork() {
  clearTimeout(fallbackTimer);
  if (source) source.close();
  source = null;
  if (poller) poller.abort();
  poller = null;
}

function stopJob() {
  stopWork();
  job.status = "stopped";
  job.endedAt = Date.now();
  setBadge("stopped", "Stopped");
  notice(`Stopped after ${job.steps.size} of ${job.total} steps. Continue at any time.`);
  setRunning(false);
  save(true);
}

// ---------- the view ----------

function renderAll() {
  ui.run.hidden = false;
  ui.title.textContent = job.kind === "scrape" ? "Scrape" : "Sleep demo";
  ui.table.dataset.kind = job.kind;
  ui.head.replaceChildren(...(COLUMNS[job.kind] || COLUMNS.sleep).map((name) => {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = name;
    return th;
  }));
  ui.body.replaceChildren();
  failedCount = 0;
  for (const step of sortedSteps()) insertRow(step);
  renderProgress();
}

function insertRow(step) {
  const last = ui.body.lastElementChild;
  const before = !last || Number(last.dataset.index) < step.index
    ? null // the usual case: steps arrive in order
    : [...ui.body.children].find((r) => Number(r.dataset.index) > step.index);
  ui.body.insertBefore(rowFor(job.kind, step), before || null);
  failedCount += step.ok ? 0 : 1;
}

function renderProgress() {
  ui.bar.max = Math.max(job.total, 1);
  ui.bar.value = job.steps.size;
  ui.progress.textContent = `Step ${job.steps.size} of ${job.total}`;
  ui.failed.textContent = String(failedCount);
  tick();
}

function tick() {
  if (!job) return;
  ui.elapsed.textContent = formatDuration((job.endedAt || Date.now()) - job.startedAt);
  const left = job.total - job.steps.size;
  if (left <= 0 || job.status !== "running") {
    ui.eta.textContent = left <= 0 ? "0:00" : "–";
  } else if (session.steps > 0) {
    ui.eta.textContent = formatDuration(((Date.now() - session.at) / session.steps) * left);
  } else {
    ui.eta.textContent = "estimating…";
  }
}

function setBadge(state, text) {
  ui.badge.dataset.state = state;
  ui.badge.textContent = text;
}

function setRunning(running) {
  ui.stop.hidden = !running;
  ui.cont.hidden = running || ["finished", "failed"].includes(job.status);
}

function notice(text) {
  ui.notice.hidden = !text;
  ui.notice.textContent = text;
}

function download(text, type, extension) {
  if (!job) return;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type }));
  link.download = `stepstream-${job.kind}-${job.id || "job"}.${extension}`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

// ---------- wiring ----------

function showSaved(saved) {
  job = saved;
  job.endedAt = job.endedAt || Date.now();
  renderAll();
  setRunning(false);
  if (job.status === "finished" || job.status === "failed") {
    setBadge(job.status, job.status === "finished" ? "Finished" : "Failed");
    return;
  }
  setBadge("paused", "Paused");
  ui.cont.hidden = true; // the offer has its own Continue
  ui.offer.hidden = false;
  ui.offerText.textContent = `A ${job.kind} job stopped at step ${job.steps.size} of ${job.total}.`
    + " Its results so far are below; continue it from where it stopped.";
}

function init() {
  for (const radio of document.querySelectorAll("input[name=kind]")) {
    radio.addEventListener("change", form.showKind);
  }
  form.showKind();
  $("job-form").addEventListener("submit", startJob);
  ui.stop.addEventListener("click", stopJob);
  const resume = () => {
    ui.offer.hidden = true;
    connect();
  };
  ui.cont.addEventListener("click", resume);
  $("resume-continue").addEventListener("click", resume);
  $("resume-discard").addEventListener("click", () => {
    forgetJob();
    job = null;
    ui.offer.hidden = true;
    ui.run.hidden = true;
  });
  $("download-json").addEventListener("click", () =>
    download(toJson(job, sortedSteps()), "application/json", "json"));
  $("download-csv").addEventListener("click", () =>
    download(toCsv(sortedSteps()), "text/csv", "csv"));
  window.addEventListener("pagehide", () => save(true));
  setInterval(tick, 500);
  const saved = loadJob();
  if (saved) showSaved(saved);
}

init();
