// stepstream with npm's `eventsource-client` (async iteration over events):
//   npm install eventsource-client    then   node eventsource-client.mjs URL
// Prints each step's data as a line; exits 0 after `done`, 1 if the server
// refuses the stream (a bad or expired token) or the job fails.
import { createEventSource } from "eventsource-client";

const url = process.argv[2];
let refusal = null;

// eventsource-client reads any answer as a stream and reconnects when it
// ends, whatever its status: a 400 for a bad token would be asked for again
// every 2 s forever. A fetch that lets only 200 and 204 through stops it.
async function fetchOnlyStreams(input, init) {
  const response = await fetch(input, init);
  if (response.status === 200 || response.status === 204) return response;
  refusal = `${response.status} ${await response.text()}`;
  return new Response(null, { status: 204 }); // eventsource-client closes on a 204
}

const source = createEventSource({ url, fetch: fetchOnlyStreams });
let failure = null;
for await (const { event, data } of source) {
  if (event === "step") console.log(data);
  else if (event === "error") failure = `job failed: ${data}`;
  if (event === "done" || event === "error") break;
}
source.close(); // breaking out of the loop does not close it
if (refusal || failure) {
  console.error(failure ?? `stream refused: ${refusal}`);
  process.exitCode = 1;
}
