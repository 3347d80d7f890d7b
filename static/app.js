// stepstream's page: learn the server's kinds, start a job, follow its events,
// resume after anything. Wires the store (store.js), the connection
// (connection.js: no DOM) and the view (form.js, view.js, table.js). Every URL
// is relative to the page, so the page works wherever the app is mounted.

import { Connection } from "./connection.js";
import * as form from "./form.js";
import { toCsv, toJson } from "./results.js";
import { forgetJob, loadApiKey, loadJob, storeApiKey, storeJob } from "./store.js";
import { addStep } from "./table.js";
import * as view from "./view.js";

const SAVE_EVERY_MS = 300;

// {job, id, kind, title, params, total, events_url, steps_url, cursor, steps: Map,
//  startedAt, endedAt, status: running | stopped | finished | failed}
let job = null;
let connection = null;
let saveTimer = 0;
let session = { at: 0, steps: 0 }; // arrivals since this page connected, for the ETA
const startButton = document.getElementById("start");

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
    view.notice("The results are too big to keep in this browser: a reload could not resume.");
  }
}

function errorOf(body, fallback) {
  return (body && body.error && body.error.message) || fallback;
}

// ---------- starting ----------

async function postJob(kind, params) {
  const typed = form.typedKey();
  if (typed) storeApiKey(typed);
  const key = loadApiKey();
  const response = await fetch("api/jobs", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(key ? { Authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ kind, params }),
  });
  return { response, key, body: await response.json().catch(() => ({})) };
}

async function startJob(event) {
  event.preventDefault();
  form.clearErrors();
  const kind = form.selectedKind();
  if (!kind) return;
  startButton.disabled = true;
  try {
    const { response, key, body } = await postJob(kind.name, form.readParams());
    if (response.status === 401) return form.askForKey(Boolean(key));
    if (!response.ok) {
      form.showFormError(errorOf(body, `The server answered ${response.status}.`));
      if (response.status === 422) form.showDetail(body.error && body.error.detail);
      return;
    }
    form.keyAccepted();
    stopWork();
    view.hideOffer();
    job = { ...body, title: kind.title, cursor: null, steps: new Map(), startedAt: Date.now(), status: "running" };
    save(true);
    view.showJob(job, []);
    view.focusJob();
    connect();
  } catch (err) {
    form.showFormError("Could not reach the server. Check the connection and try again.");
  } finally {
    startButton.disabled = false;
  }
}

// ---------- following the job ----------

function connect(fallBackBecause = "") {
  stopWork();
  job.status = "running";
  job.endedAt = null;
  session = { at: Date.now(), steps: 0 };
  view.setRunning(job, true);
  connection = new Connection({ events: job.events_url, steps: job.steps_url }, job.cursor, {
    event: handle,
    cursor: (id) => {
      job.cursor = id;
      save();
    },
    state: changed,
  });
  if (fallBackBecause) connection.batches(fallBackBecause);
  else connection.stream();
}

function handle(type, data) {
  if (type === "start") {
    job.total = data.total;
    if (data.resumed) {
      view.setBadge("resumed", `Resumed at step ${data.next + 1}`);
      view.notice(`Reconnected: the job goes on from step ${data.next + 1}; nothing was lost.`);
    } else {
      view.setBadge("live", "Live");
      view.notice("");
    }
  } else if (type === "progress") {
    if (!job.steps.has(data.index)) view.showStepProgress(data);
    return;
  } else if (type === "step") {
    arrived(data);
  } else if (type === "done") {
    finish("finished", `Finished: ${data.ok} ok, ${data.failed} failed.`);
  } else if (type === "error") {
    finish("failed", `The job stopped: ${data.message || data.code}`);
  }
  save(type !== "step");
}

function arrived(data) {
  view.showStepProgress(null);
  if (job.steps.has(data.index)) return; // each step once, whatever the reconnects
  const step = { index: data.index, ok: data.ok, result: data.result, elapsed_ms: data.elapsed_ms };
  job.steps.set(step.index, step);
  session.steps += 1;
  addStep(step, sortedSteps);
  view.showProgress(job, session);
}

function changed(state, detail) {
  if (state === "connecting") view.setBadge("connecting", "Connecting…");
  else if (state === "reconnecting") {
    view.setBadge("reconnecting", "Reconnecting…");
    view.notice(`The connection dropped after step ${job.steps.size}; reconnecting…`);
  } else if (state === "fallback") {
    view.setBadge("fallback", "Fallback: batches");
    if (detail) view.notice(`${detail} Switched to fetching steps in batches.`);
  } else if (state === "closed") closed();
  else if (state === "refused") refused(detail);
  else if (state === "unreachable") finish("failed", "The server cannot be reached.");
  else if (state === "ended" && job.status === "running") finish("finished", "Finished.");
}

function finish(state, text) {
  stopWork();
  job.status = state;
  job.endedAt = Date.now();
  view.setBadge(state, state === "finished" ? "Finished" : "Failed");
  view.notice(text);
  view.setRunning(job, false);
  view.showStepProgress(null);
  view.showProgress(job, session);
  save(true);
}

// The stream closed for good without `done`: a 204 (the job had finished) or
// a refused request. Find out which and say it in words.
async function closed() {
  if (job.steps.size >= job.total) return finish("finished", "Finished.");
  if (!(await tokenProblem())) connect("The stream was refused.");
}

async function refused(body) {
  if (!(await tokenProblem())) finish("failed", errorOf(body, "The server refused the batch."));
}

async function tokenProblem() {
  let response;
  try {
    response = await fetch(`api/jobs/${encodeURIComponent(job.job)}`);
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

function stopWork() {
  if (connection) connection.close();
  connection = null;
}

function stopJob() {
  stopWork();
  job.status = "stopped";
  job.endedAt = Date.now();
  view.setBadge("stopped", "Stopped");
  view.notice(`Stopped after ${job.steps.size} of ${job.total} steps. Continue at any time.`);
  view.setRunning(job, false);
  view.showStepProgress(null);
  save(true);
}

// ---------- wiring ----------

function showSaved(saved) {
  job = saved;
  job.endedAt = job.endedAt || Date.now();
  view.showJob(job, sortedSteps());
  view.showProgress(job, session);
  view.setRunning(job, false);
  if (job.status === "finished" || job.status === "failed") {
    view.setBadge(job.status, job.status === "finished" ? "Finished" : "Failed");
    return;
  }
  view.setBadge("paused", "Paused");
  view.offerResume(job);
}

async function learnKinds() {
  try {
    const response = await fetch("api/kinds");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    form.showKinds((await response.json()).kinds);
  } catch (err) {
    form.showFormError(`Could not learn this server's job kinds (${err.message}). Reload to try again.`);
    startButton.disabled = true;
  }
}

function fileName(extension) {
  return `stepstream-${job.kind}-${job.id || "job"}.${extension}`;
}

function init() {
  const on = (id, type, listener) => document.getElementById(id).addEventListener(type, listener);
  on("job-form", "submit", startJob);
  on("stop", "click", stopJob);
  on("continue", "click", () => connect());
  on("resume-continue", "click", () => {
    view.hideOffer();
    connect();
  });
  on("resume-discard", "click", () => {
    forgetJob();
    job = null;
    view.hideJob();
  });
  on("download-json", "click", () =>
    view.download(fileName("json"), toJson(job, sortedSteps()), "application/json"));
  on("download-csv", "click", () => view.download(fileName("csv"), toCsv(sortedSteps()), "text/csv"));
  window.addEventListener("pagehide", () => save(true));
  setInterval(() => job && view.showProgress(job, session), 500);
  learnKinds();
  const saved = loadJob();
  if (saved) showSaved(saved);
}

init();
