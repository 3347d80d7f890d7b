// stepstream with the WHATWG EventSource API in Node: npm's `eventsource`
// (v3 and later) or undici's (v7 and later: v6 gives up for good when a
// reconnect is refused, as during a restart). Both export the same class, so
// one recipe serves both:
//   npm install eventsource    then   node eventsource.mjs eventsource URL
//   npm install undici         then   node eventsource.mjs undici URL
// Prints each step's data as a line; exits 0 after `done`, 1 if the server
// refuses the stream (a bad or expired token) or the job fails.
const [library, url] = process.argv.slice(2);
const { EventSource } = await import(library);

// A reconnect waits on a timer that does not keep Node running: without
// something that does, the process exits quietly at the first dropped
// connection, in the middle of the job.
const keepAlive = setInterval(() => {}, 60_000);

function finish(code, message) {
  if (message) console.error(message);
  source.close(); // else EventSource reconnects after `done` (and gets 204)
  clearInterval(keepAlive);
  process.exitCode = code;
}

const source = new EventSource(url);
source.addEventListener("step", (event) => console.log(event.data));
source.addEventListener("done", () => finish(0));
source.addEventListener("error", (event) => {
  if (event.data) {
    // The job's own `event: error` (it cannot go on), not a dropped connection.
    finish(1, `job failed: ${event.data}`);
    return;
  }
  // A dropped connection: EventSource resumes from the last id by itself.
  // A non-200 answer (400, 410, 404) closes it for good; some versions close
  // only after this event, so look again once it has been dispatched. npm's
  // eventsource tells the status; undici's, like a browser's, does not.
  setTimeout(() => {
    if (source.readyState === EventSource.CLOSED && process.exitCode === undefined) {
      finish(1, `stream refused: ${event.code ?? "(status not given)"} ${event.message ?? ""}`);
    }
  }, 0);
});
