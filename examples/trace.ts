// A trace worth watching: a browser's real requests, and groundwork's answers, byte by byte.
//   deno run --allow-net=0.0.0.0:8000 examples/trace.ts
// Then open http://localhost:8000/ in a browser, and keep an eye on the terminal. (--port 8080 moves it; allow that
// port in --allow-net instead.) The trace is on (`trace: true`), so each connection prints, as it goes:
//   - its number (#1, #2...) and the milliseconds since it opened;
//   - each state it enters, with that state's deadline: "idle, for at most 5000 ms";
//   - each request head as it came on the wire, and each answer's head, every line ending in a visible \r\n;
//   - a body's framing (Content-Length, or each chunk's size line) and its first bytes;
//   - why it closed: "the client closed", "idle too long, or the server closing"...
// What to look for:
//   - The browser's request head: far more fields than a tutorial sends (User-Agent, Accept, Accept-Encoding,
//     Sec-Fetch-*...), and "Connection: keep-alive".
//   - A second request on the same #number: the browser kept the connection open, and groundwork did too.
//   - /favicon.ico, which the browser asks for by itself, and its 404.
//   - The form's POST: Content-Length, and the body in application/x-www-form-urlencoded.
//   - /stream: an answer with no Content-Length but "transfer-encoding: chunked", its pieces a second apart.
//   - A connection the browser opened ahead of time and never used, closed once its idle deadline passed.
import { App, Response } from "../mod.ts";

const encoder = new TextEncoder();

/** How many pieces /stream sends, and how long it waits before each: long enough to see them arrive one by one. */
const STREAM_PIECES = 3;
const STREAM_PAUSE_MS = 1000;

const PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>groundwork: a trace worth watching</title>
<h1>Watch the terminal</h1>
<p>This page came over a connection whose every step the server printed.</p>
<form method="post" action="/echo">
  <label>Say something <input name="words" value="héllo, wörld"></label>
  <button>Send it as a POST</button>
</form>
<p><a href="/stream">An answer that comes in pieces</a> (chunked, one a second)</p>
<p><a href="/nothing-here">A page that is not here</a> (404)</p>
</html>`;

function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** A body that is sent as it is made: a piece, a pause, the next piece. */
function slowPieces(): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    async pull(controller) {
      await new Promise((resolve) => setTimeout(resolve, STREAM_PAUSE_MS));
      sent += 1;
      controller.enqueue(encoder.encode(`piece ${sent} of ${STREAM_PIECES}\n`));
      if (sent === STREAM_PIECES) controller.close();
    },
  });
}

export const app = new App()
  .get("/", () => Response.html(PAGE))
  .post("/echo", async (req) => {
    const words = String((await req.form()).get("words") ?? "");
    return Response.html(`<p>You said: ${escapeHtml(words)}</p><p><a href="/">Back</a></p>`);
  })
  .get("/stream", () => new Response(slowPieces(), {}, "text/plain; charset=utf-8"));

if (import.meta.main) await app.listen({ trace: true });
