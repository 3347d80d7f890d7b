// The job's card: its badge, progress, the step being run, notices and buttons.

import { formatDuration } from "./format.js";
import { failedCount, showSteps } from "./table.js";

const $ = (id) => document.getElementById(id);
const ui = {
  offer: $("resume-offer"), offerText: $("resume-text"),
  run: $("run"), title: $("run-title"), badge: $("badge"), bar: $("bar"),
  progress: $("progress-text"), elapsed: $("elapsed"), eta: $("eta"), failed: $("failed"),
  notice: $("notice"), stop: $("stop"), cont: $("continue"),
  stepBox: $("step-progress"), stepBar: $("step-bar"), stepText: $("step-progress-text"),
};

export function showJob(job, steps) {
  ui.run.hidden = false;
  ui.title.textContent = job.title || job.kind;
  showSteps(steps);
  showStepProgress(null);
}

export function hideOffer() {
  ui.offer.hidden = true;
}

export function hideJob() {
  hideOffer();
  ui.run.hidden = true;
}

export function focusJob() {
  ui.run.focus();
}

export function showProgress(job, session) {
  ui.bar.max = Math.max(job.total, 1);
  ui.bar.value = job.steps.size;
  ui.progress.textContent = `Step ${job.steps.size} of ${job.total}`;
  ui.failed.textContent = String(failedCount());
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

// A `progress` event of the step being run ({index, message, fraction}), or null to clear.
export function showStepProgress(progress) {
  ui.stepBox.hidden = !progress;
  if (!progress) return;
  const percent = progress.fraction == null ? "" : ` (${Math.round(progress.fraction * 100)} %)`;
  ui.stepText.textContent = `Step ${progress.index + 1}: ${progress.message || "working"}${percent}`;
  if (progress.fraction == null) ui.stepBar.removeAttribute("value");
  else ui.stepBar.value = progress.fraction;
}

export function setBadge(state, text) {
  ui.badge.dataset.state = state;
  ui.badge.textContent = text;
}

export function setRunning(job, running) {
  ui.stop.hidden = !running;
  ui.cont.hidden = running || ["finished", "failed"].includes(job.status);
}

export function notice(text) {
  ui.notice.hidden = !text;
  ui.notice.textContent = text;
}

export function offerResume(job) {
  ui.cont.hidden = true; // the offer has its own Continue
  ui.offer.hidden = false;
  ui.offerText.textContent = `A ${job.title || job.kind} job stopped at step ${job.steps.size}`
    + ` of ${job.total}. Its results so far are below; continue it from where it stopped.`;
}

export function download(name, text, type) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type }));
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}
