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

// The page: one file, no build step. Each message shows its sender's name in bold and the time it was sent; the
// messages sent under this page's name sit on the right, in blue, the others on the left. The name is kept in
// localStorage, so a reload keeps it. A message the server refuses leaves an error line under the list, until the next
// one goes through.
const PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chat</title>
<style>
  * { box-sizing: border-box }
  body { margin: 0; font: 16px/1.4 system-ui, sans-serif; color: #1f2937; background: #f3f4f6 }
  main { display: flex; flex-direction: column; max-width: 44rem; height: 100vh; height: 100dvh;
         margin: 0 auto; padding: 1rem }
  header { display: flex; justify-content: space-between; align-items: baseline; gap: 1rem }
  h1 { margin: 0 0 .5rem; font-size: 1.5rem }
  #status { margin: 0; color: #6b7280; font-size: .875rem }
  #messages { display: flex; flex-direction: column; gap: .5rem; flex: 1; min-height: 0; overflow-y: auto;
              margin: 0; padding: .75rem; list-style: none; background: white; border: 1px solid #d1d5db;
              border-radius: .75rem }
  #messages li { align-self: flex-start; max-width: 80%; padding: .375rem .75rem .5rem;
                 border-radius: .75rem .75rem .75rem .25rem; background: #e5e7eb; overflow-wrap: anywhere }
  #messages li.mine { align-self: flex-end; border-radius: .75rem .75rem .25rem .75rem; color: white;
                      background: #2563eb }
  .meta { display: flex; gap: .5rem; align-items: baseline; font-size: .8125rem }
  .name { font-weight: 700 }
  time { color: #4b5563 }
  .mine time { color: #dbeafe }
  .text { margin: .125rem 0 0; white-space: pre-wrap }
  #error { margin: .5rem 0 0; color: #b91c1c }
  form { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: .75rem }
  input, button { min-width: 0; padding: .5rem .75rem; font: inherit; border: 1px solid #9ca3af;
                  border-radius: .5rem }
  input:focus-visible, button:focus-visible { outline: 2px solid #93c5fd; outline-offset: 1px }
  #name { flex: 0 1 10rem }
  #text { flex: 1 1 12rem }
  button { color: white; background: #2563eb; border-color: #2563eb; cursor: pointer }
  /* On a phone the name gets a row of its own, and the text and the button share the next. */
  @media (max-width: 30rem) { #name { flex-basis: 100% } }
</style>
<main>
  <header>
    <h1>Chat</h1>
    <p id="status">Connecting…</p>
  </header>
  <ul id="messages"></ul>
  <p id="error" role="alert" hidden></p>
  <form id="send">
    <input id="name" placeholder="Your name" maxlength="${MAX.name}" required autocomplete="nickname">
    <input id="text" placeholder="Say something" maxlength="${MAX.text}" required autocomplete="off">
    <button>Send</button>
  </form>
</main>
<script type="module">
  const $ = (selector) => document.querySelector(selector);
  const NAME_KEY = "chat.name";
  $("#name").value = localStorage.getItem(NAME_KEY) ?? "";

  /** An element with a class and, as text, never as HTML, its content. */
  function element(tag, className, text) {
    const made = document.createElement(tag);
    made.className = className;
    // textContent, never innerHTML: a message that says "<img src=x onerror=...>" is shown, not run.
    made.textContent = text;
    return made;
  }

  function showError(text) {
    $("#error").textContent = text;
    $("#error").hidden = text === "";
  }

  const events = new EventSource("/events");
  events.onopen = () => ($("#status").textContent = "Connected.");
  events.onerror = () => ($("#status").textContent = "Reconnecting…"); // EventSource retries by itself
  events.onmessage = (e) => {
    const { name, text, time } = JSON.parse(e.data);
    const item = document.createElement("li");
    // Mine: sent under the name this page goes by (a message has no other owner in this small example).
    item.className = name === $("#name").value.trim() ? "mine" : "theirs";
    const when = element("time", "", new Date(time).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
    when.dateTime = time;
    const meta = element("div", "meta", "");
    meta.append(element("span", "name", name), when);
    item.append(meta, element("p", "text", text));
    $("#messages").append(item);
    item.scrollIntoView({ block: "nearest" });
  };

  $("#send").onsubmit = async (e) => {
    e.preventDefault();
    const name = $("#name").value.trim();
    localStorage.setItem(NAME_KEY, name);
    const body = JSON.stringify({ name, text: $("#text").value });
    try {
      const res = await fetch("/messages", { method: "POST", headers: { "content-type": "application/json" }, body });
      if (!res.ok) return showError(await res.text());
      showError("");
      $("#text").value = "";
      $("#text").focus();
    } catch {
      showError("Not sent: the server can't be reached. Try again in a moment.");
    }
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
