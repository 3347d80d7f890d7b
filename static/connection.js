// One job's events, however they can reach this page: the SSE stream (EventSource
// reconnects by itself, sending its newest id, checkpoints included), or, when a
// proxy holds the stream back, POSTed batches of the same events. No DOM here:
// it reports through `on.event(type, data)`, `on.cursor(id)` and `on.state(state)`.
//
// States: connecting, reconnecting, fallback (batches), closed (the stream ended
// for good without `done`), refused (a batch got one of our JSON errors: `detail`
// is its body), unreachable, ended (a batch said the job is done).

const FALLBACK_AFTER_MS = 4000; // no `start` by then: a buffering proxy holds the stream
const RETRY_MS = 2000;
const MAX_RETRIES = 60;
const CUT_BUDGET_S = 5; // after the first cut: half the server's default STEPSTREAM_STEP_BUDGET
const MIN_BUDGET_S = 1;
const PROXY_STATUSES = [502, 503, 504];
const STREAM_EVENTS = ["start", "progress", "step", "done"];

const isOurError = (body) => Boolean(body && body.error && typeof body.error.code === "string");
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class Connection {
  #source = null;
  #poller = null;
  #timer = 0;

  // urls: {events, steps} as the server gave them (already under its prefix).
  constructor(urls, cursor, on) {
    this.urls = urls;
    this.cursor = cursor;
    this.on = on;
    this.budget = null; // the server's own STEPSTREAM_STEP_BUDGET, until a proxy cuts a batch
  }

  #adopt(id) {
    if (id && id !== this.cursor) {
      this.cursor = id;
      this.on.cursor(id);
    }
  }

  stream() {
    this.close();
    // EventSource sends Last-Event-ID only on its own reconnects; a fresh one
    // (after a reload) passes the saved cursor in the query.
    const url = this.cursor
      ? `${this.urls.events}?last_event_id=${encodeURIComponent(this.cursor)}`
      : this.urls.events;
    this.on.state("connecting");
    let started = false;
    const es = new EventSource(url);
    this.#source = es;
    this.#timer = setTimeout(() => {
      if (!started && this.#source === es) {
        this.batches("The stream sent nothing for a few seconds (a proxy on the way holds it back).");
      }
    }, FALLBACK_AFTER_MS);
    for (const type of STREAM_EVENTS) {
      es.addEventListener(type, (e) => {
        started = true;
        clearTimeout(this.#timer);
        this.#adopt(e.lastEventId); // on `progress`, the newest checkpoint's id
        this.on.event(type, JSON.parse(e.data));
      });
    }
    es.addEventListener("error", (e) => {
      if (this.#source !== es) return;
      if (e.data) {
        this.close();
        this.on.event("error", JSON.parse(e.data)); // the job's own `error` event
      } else if (!started) {
        this.batches("The stream could not be opened.");
      } else if (es.readyState === EventSource.CONNECTING) {
        this.on.state("reconnecting");
      } else {
        this.close();
        this.on.state("closed");
      }
    });
  }

  // The JSON fallback: one batch per request until the job is done. After a
  // batch that a proxy cut (its own 502/503/504, or no answer at all) the page
  // asks for half the time (from the server's default 10 s), down to
  // MIN_BUDGET_S, so a proxy's short timeout is met.
  async batches(reason) {
    this.close();
    this.on.state("fallback", reason);
    const controller = new AbortController();
    this.#poller = controller;
    let failures = 0;
    while (this.#poller === controller) {
      const { response, body } = await this.#batch(controller.signal);
      if (this.#poller !== controller) return;
      if (response && response.ok && body) {
        failures = 0;
        this.on.state("fallback");
        for (const e of body.events) {
          this.#adopt(e.id);
          this.on.event(e.event, e.data);
        }
        this.#adopt(body.cursor);
        if (body.done) {
          this.close();
          this.on.state("ended");
        }
      } else if (response && !(PROXY_STATUSES.includes(response.status) && !isOurError(body))) {
        this.close();
        this.on.state("refused", body);
      } else if (++failures > MAX_RETRIES) {
        this.close();
        this.on.state("unreachable");
      } else {
        this.budget = this.budget ? Math.max(MIN_BUDGET_S, this.budget / 2) : CUT_BUDGET_S;
        this.on.state("reconnecting");
        await pause(RETRY_MS);
      }
    }
  }

  async #batch(signal) {
    try {
      const response = await fetch(this.urls.steps, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ cursor: this.cursor, ...(this.budget ? { budget: this.budget } : {}) }),
        signal,
      });
      return { response, body: await response.json().catch(() => null) };
    } catch (err) {
      return { response: null, body: null }; // the network, or a proxy that hung up
    }
  }

  close() {
    clearTimeout(this.#timer);
    if (this.#source) this.#source.close();
    this.#source = null;
    if (this.#poller) this.#poller.abort();
    this.#poller = null;
  }
}
