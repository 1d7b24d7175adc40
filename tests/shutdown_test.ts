// Layer 6, Server: a handler that never answers, and a close() that always finishes. Real clients on real
// TCP: keep-alive ones under load, a Server-Sent Events stream, a handler stuck for good.
import assert from "node:assert/strict";
import { App, Response, Server } from "../mod.ts";
import { Client, get, raw, sleep, start, within } from "./helpers.ts";

/** A stream that sends `event` every `ms` until it is cancelled, the way a chat's SSE stream does. */
function events(ms: number, onCancel: () => void = () => {}): ReadableStream<Uint8Array> {
  let timer: ReturnType<typeof setInterval> | undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      timer = setInterval(() => controller.enqueue(new TextEncoder().encode("data: tick\n\n")), ms);
    },
    cancel() {
      clearInterval(timer);
      onCancel();
    },
  });
}

// ---------------------------------------------------------------- a handler that never answers

Deno.test("answers 503 and closes when a handler takes longer than handlerTimeoutMs; the server serves on", async () => {
  const stuck = new Promise<Response>(() => {}); // never settles
  const s = await start((req) => req.path === "/stuck" ? stuck : new Response("quick"), {
    handlerTimeoutMs: 300,
  });
  try {
    const started = Date.now();
    // A pipelined request behind the stuck one is not answered on this connection: the 503 closes it.
    const { responses, closed } = await raw(s.port, get("/stuck") + get("/behind"), {
      timeoutMs: 5000,
    });
    assert.equal(responses.length, 1);
    assert.equal(responses[0].status, 503);
    assert.equal(responses[0].headers.get("connection"), "close");
    assert.ok(closed, "the connection was closed");
    assert.ok(Date.now() - started < 4000, "the 503 came after about handlerTimeoutMs, not never");
    assert.equal((await raw(s.port, get("/quick"), { responses: 1 })).responses[0]?.body, "quick");
  } finally {
    await s.close();
  }
});

Deno.test("does not cut off a stream whose head has gone out: an SSE stream outlives handlerTimeoutMs", async () => {
  const s = await start(
    () => new Response(events(50), { headers: { "content-type": "text/event-stream" } }),
    {
      handlerTimeoutMs: 100,
    },
  );
  const client = await Client.connect(s.port);
  try {
    await client.send(get("/events"));
    await sleep(600); // six times the handler's limit
    assert.ok(await client.until("data: tick\n\n", 3000));
    const ticks = client.text.split("data: tick").length - 1;
    assert.ok(ticks >= 5, `still streaming after the handler's limit: ${ticks} events`);
    assert.ok(!client.text.includes(" 503 "), "no 503");
  } finally {
    client.close();
    await s.close();
  }
});

// ---------------------------------------------------------------- close() always finishes

Deno.test("close() ends an open SSE stream with its last chunk once closeGraceMs has passed, and resolves", async () => {
  let cancelled = false;
  const s = await start(() => new Response(events(20, () => (cancelled = true))), {
    closeGraceMs: 300,
  });
  const client = await Client.connect(s.port);
  try {
    await client.send(get("/events"));
    assert.ok(await client.until("data: tick", 3000), "the stream is open");
    const started = Date.now();
    await within(s.close(), 5000, "close() with a stream open");
    const took = Date.now() - started;
    assert.ok(took >= 250 && took < 3000, `close() took ${took} ms, for a grace of 300 ms`);
    assert.ok(cancelled, "the stream was cancelled, so whoever feeds it stops");
    assert.ok(await client.closedByServer(3000), "the connection was closed");
    assert.ok(
      client.text.endsWith("\r\n0\r\n\r\n"),
      "the stream ended with its last chunk, cleanly",
    );
  } finally {
    client.close();
    await s.close();
  }
});

Deno.test("close() resolves within closeGraceMs even with a handler that never answers, which gets 503", async () => {
  const s = await start(() => new Promise<Response>(() => {}), { closeGraceMs: 200 });
  const client = await Client.connect(s.port);
  try {
    await client.send(get("/stuck"));
    await sleep(100); // the handler is running
    await within(s.close(), 3000, "close() with a handler stuck");
    const [res] = await client.next(1, { timeoutMs: 3000 });
    assert.equal(res?.status, 503);
    assert.equal(res.headers.get("connection"), "close");
  } finally {
    client.close();
    await s.close();
  }
});

Deno.test("close() answers a request that has already arrived on an idle kept-alive connection, with Connection: close", async () => {
  const s = await start(() => new Response("answered"));
  const client = await Client.connect(s.port);
  try {
    await client.send(get("/first"));
    assert.equal((await client.next())[0]?.body, "answered");
    // The connection is idle. The next request and close() come at the same moment.
    await client.send(get("/second"));
    const closing = s.close();
    const [res] = await client.next(1, { timeoutMs: 3000 });
    assert.equal(res?.body, "answered", "the request that had come was answered");
    assert.equal(res.headers.get("connection"), "close");
    await within(closing, 3000, "close()");
  } finally {
    client.close();
  }
});

Deno.test("close() in the middle of a load of 32 keep-alive clients leaves no request that was sent before it unanswered", async () => {
  const app = new App().get("/", async () => {
    await sleep(Math.random() * 5); // a little work, so some requests are in flight when close() comes
    return "ok";
  });
  const s = await start(app, { closeGraceMs: 2000 });
  let closeCalledAt = Infinity;
  const sentBeforeClose: number[] = [], answered: number[] = [], lost: number[] = [];
  let next = 0;
  async function client(): Promise<void> {
    const c = await Client.connect(s.port);
    try {
      while (true) {
        const id = next++;
        const sentAt = Date.now();
        try {
          await c.send(get(`/?id=${id}`));
        } catch {
          return; // the server closed the connection: a request not sent is not lost
        }
        if (sentAt < closeCalledAt) sentBeforeClose.push(id);
        const [res] = await c.next(1, { timeoutMs: 5000 });
        if (res?.status === 200) answered.push(id);
        else if (sentAt < closeCalledAt) lost.push(id);
        if (!res || res.headers.get("connection") === "close") return;
      }
    } finally {
      c.close();
    }
  }
  const clients = Array.from({ length: 32 }, () => client());
  await sleep(300); // the load is on
  closeCalledAt = Date.now();
  const started = Date.now();
  await within(s.close(), 5000, "close() under load");
  const took = Date.now() - started;
  await within(Promise.all(clients), 10_000, "the clients' end");
  console.log(
    `close() under load: ${answered.length} answered, ${sentBeforeClose.length} sent before close(), ` +
      `${lost.length} of those lost; close() took ${took} ms`,
  );
  assert.ok(answered.length > 100, `the load was real: ${answered.length} answers`);
  assert.deepEqual(lost, [], "every request sent before close() got its answer");
});

Deno.test("close() twice, or before listen(), is fine", async () => {
  const s = await start(() => new Response("x"));
  await Promise.all([s.close(), s.close()]);
  await s.close();
  await new Server(() => new Response("never listened")).close();
});
