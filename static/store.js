// The job, its newest cursor and its results, kept in localStorage so that a
// reload or a browser restart resumes where the page stopped.

const KEY = "stepstream.job";

export function loadJob() {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) || "null");
    if (!saved || typeof saved.job !== "string" || !Array.isArray(saved.steps)) return null;
    saved.steps = new Map(saved.steps.map((s) => [s.index, s]));
    return saved;
  } catch (err) {
    return null; // unreadable: start afresh rather than break the page
  }
}

// Returns false when the browser refuses (quota): the older snapshot stays.
export function storeJob(job, steps) {
  try {
    localStorage.setItem(KEY, JSON.stringify({ ...job, steps }));
    return true;
  } catch (err) {
    return false;
  }
}

export function forgetJob() {
  localStorage.removeItem(KEY);
}

// The API key this tab was given after a 401: sessionStorage, so it leaves with the tab.
const KEY_SLOT = "stepstream.apiKey";

export function loadApiKey() {
  return sessionStorage.getItem(KEY_SLOT) || "";
}

export function storeApiKey(key) {
  sessionStorage.setItem(KEY_SLOT, key);
}
