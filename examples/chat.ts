// A chat room in the browser: messages go up with POST /messages, and come down to every open page as Server-Sent
// Events on GET /events, a response that never ends.
//   deno run --allow-net=0.0.0.0:8000 examples/chat.ts
// Then open http://localhost:8000/ in two windows, pick a name in each, and talk. Or from a terminal:
//   curl -N localhost:8000/events                      (watch; -N prints each event as it comes)
//   curl localhost:8000/messages -d name=curl -d text=hello
// Options: --port 8080 (name that port in --allow-net too); --heartbeat-seconds 15 (see `heartbeat` below).
// What to look at: `subscribe`, a ReadableStream per page whose `cancel()` forgets a page that went away; `send`,
// which drops a page that stopped reading rather than hold its messages forever; the event format (`id:`, `data:`,
// a blank line); and the page's script, which shows messages with textContent, so a message can't inject HTML.
import { parseArgs } from "node:util";
import { App, HttpError, type Request, Response } from "../mod.ts";

const flags = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string" }, // app.listen() reads it
    "heartbeat-seconds": { type: "string", default: "15" },
  },
}).values;
const HEARTBEAT_MS = Number(flags["heartbeat-seconds"]) * 1000;
if (!(HEARTBEAT_MS > 0)) {
  throw new TypeError(
    `--heartbeat-seconds "${flags["heartbeat-seconds"]}" is not a positive number`,
  );
}

const HISTORY = 50; // messages a newcomer gets
const MAX = { name: 30, text: 500 }; // characters
const BACKLOG = 100; // events a page may fall behind by before we drop it

type Message = { id: number; name: string; text: string; time: string };
type Page = ReadableStreamDefaultController<Uint8Array>;

const history: Message[] = [];
const pages = new Set<Page>(); // one for each open GET /events
let lastId = 0;
const encoder = new TextEncoder();

/** A message as one event of the text/event-stream format: a field per line, and an empty line to end it. */
function event(message: Message): Uint8Array {
  // A newline inside `data:` would end the field early. JSON.stringify never writes one: "\n" becomes "\\n".
  return encoder.encode(`id: ${message.id}\ndata: ${JSON.stringify(message)}\n\n`);
}

/** Queues `bytes` for one page; a page that has stopped reading is dropped rather than fed without end. */
function send(page: Page, bytes: Uint8Array): void {
  // desiredSize goes below zero as events wait in the stream's queue: the server writes only as fast as the page
  // reads, so a page that stopped reading (a sleeping laptop, a stalled network) would make us keep everything.
  if ((page.desiredSize ?? 0) < -BACKLOG) {
    pages.delete(page);
    page.error(new Error(`A page fell ${BACKLOG} events behind, and was dropped`));
  } else {
    page.enqueue(bytes);
  }
}

/** GET /events: a stream that stays open, starting with the recent messages, then each new one as it is posted. */
function subscribe(req: Request): Response {
  // After a dropped connection, EventSource reconnects by itself and sends the last id it saw: send only the rest.
  const seen = Number(req.headers.get("last-event-id")) || 0;
  let page: Page;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      page = controller;
      pages.add(page);
      for (const message of history) if (message.id > seen) send(page, event(message));
    },
    // The server cancels the stream when it can't write to the page any more: the tab was closed, or the network
    // went. Nothing else tells us; without this, `pages` would grow with every visit.
    cancel() {
      pages.delete(page);
    },
  });
  return new Response(stream, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
  });
}

/** The name and text of a POST /messages, sent as JSON or as a form; HttpError 400 if either is missing or long. */
async function readMessage(req: Request): Promise<{ name: string; text: string }> {
  const json = /^application\/json\b/i.test(req.headers.get("content-type") ?? "");
  const fields: Record<string, unknown> =
    (json ? await req.json() : Object.fromEntries(await req.form())) ?? {};
  const field = (key: "name" | "text") => {
    const value = typeof fields[key] === "string" ? fields[key].trim() : "";
    if (!value || value.length > MAX[key]) {
      throw new HttpError(400, `Send a ${key} of 1 to ${MAX[key]} characters`);
    }
    return value;
  };
  return { name: field("name"), text: field("text") };
}

/** Keeps a message for newcomers, and sends it to every open page. */
function broadcast(message: Message): void {
  history.push(message);
  if (history.length > HISTORY) history.shift();
  const bytes = event(message);
  for (const page of pages) send(page, bytes);
}

/**
 * Every HEARTBEAT_MS, a comment line (": ...", which pages ignore) to every page. A quiet stream needs it twice
 * over: proxies close connections that stay silent too long, and a write is our only way to learn a page has gone.
 */
function heartbeat(): void {
  const bytes = encoder.encode(": heartbeat\n\n");
  for (const page of pages) send(page, bytes);
}

const PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width">
<title>Chat</title>
<style>
  body { font: 16px system-ui; max-width: 40em; margin: 2em auto; padding: 0 1em }
  #messages { list-style: none; padding: 0; height: 60vh; overflow-y: auto; border: 1px solid #ccc }
  #messages li { padding: .2em .5em }
  form { display: flex; gap: .5em } #text { flex: 1 }
</style>
<h1>Chat</h1>
<p id="status">Connecting…</p>
<ul id="messages"></ul>
<form id="send">
  <input id="name" placeholder="Your name" maxlength="${MAX.name}" required>
  <input id="text" placeholder="Say something" maxlength="${MAX.text}" required autocomplete="off">
  <button>Send</button>
</form>
<script type="module">
  const $ = (selector) => document.querySelector(selector);
  const events = new EventSource("/events");
  events.onopen = () => ($("#status").textContent = "Connected.");
  events.onerror = () => ($("#status").textContent = "Reconnecting…"); // EventSource retries by itself
  events.onmessage = (e) => {
    const { name, text, time } = JSON.parse(e.data);
    const item = document.createElement("li");
    // textContent, never innerHTML: a message that says "<img src=x onerror=...>" is shown, not run.
    item.textContent = name + ": " + text;
    item.title = new Date(time).toLocaleTimeString();
    $("#messages").append(item);
    item.scrollIntoView();
  };
  $("#send").onsubmit = async (e) => {
    e.preventDefault();
    const body = JSON.stringify({ name: $("#name").value, text: $("#text").value });
    const res = await fetch("/messages", { method: "POST", headers: { "content-type": "application/json" }, body });
    if (res.ok) $("#text").value = "";
    else $("#status").textContent = await res.text();
  };
</script>
</html>
`;

export const app = new App()
  .get("/", () => Response.html(PAGE))
  .get("/events", subscribe)
  .post("/messages", async (req) => {
    const { name, text } = await readMessage(req); // first, so that a refused message takes no id
    const message = { id: ++lastId, name, text, time: new Date().toISOString() };
    broadcast(message);
    return Response.json(message, { status: 201 });
  })
  .get("/stats", () => ({ pages: pages.size, messages: history.length }));

if (import.meta.main) {
  setInterval(heartbeat, HEARTBEAT_MS);
  await app.listen();
}
