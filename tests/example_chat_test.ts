// examples/chat.ts, run as its own process: its event stream read over raw TCP, and its page driven in a real
// headless Chromium through the DevTools protocol, over Deno's own WebSocket (no npm packages). The last test looks at
// the page as a person would, at 1000×700 and at a phone's 390×800, and takes a screenshot at each size; with
// GROUNDWORK_UPDATE_SCREENSHOTS=1 it writes them to docs/screenshots/ (else to a temporary folder, since the times on
// the page change with every run):
//   GROUNDWORK_UPDATE_SCREENSHOTS=1 deno test --allow-all tests/example_chat_test.ts
import assert from "node:assert/strict";
import { Client, fetch, get, sleep, within } from "./helpers.ts";
import { collect, runExample, type Running, stopProcess } from "./run_example.ts";

const CHROMIUM = "/usr/bin/chromium";
const chromiumInstalled = await Deno.stat(CHROMIUM).then((info) => info.isFile, () => false);
if (!chromiumInstalled) {
  console.warn(
    `%cSkipping the chat browser test: no ${CHROMIUM} (apt-get install chromium)`,
    "color: yellow",
  );
}

type Message = { id: number; name: string; text: string; time: string };

/** Starts the example; its heartbeat comes often, so that a page that went away is noticed soon. */
function startChat(): Promise<Running> {
  return runExample("examples/chat.ts", (port) => [`--allow-net=0.0.0.0:${port}`], [
    "--heartbeat-seconds",
    "0.05",
  ]);
}

/** Posts a message as JSON, and returns the 201's body: the message as it will be broadcast. */
async function postMessage(server: Running, name: string, text: string): Promise<Message> {
  const body = JSON.stringify({ name, text });
  const res = await fetch(`${server.url}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  assert.equal(res.status, 201, await res.clone().text());
  return await res.json();
}

async function stats(server: Running): Promise<{ pages: number; messages: number }> {
  return await (await fetch(`${server.url}/stats`)).json();
}

/** Asks GET /stats until it counts `pages` open event streams; fails if that hasn't happened within 5 s. */
async function untilPages(server: Running, pages: number): Promise<void> {
  const deadline = Date.now() + 5000;
  let now = await stats(server);
  while (now.pages !== pages && Date.now() < deadline) now = (await sleep(20), await stats(server));
  assert.equal(now.pages, pages, "open event streams, as GET /stats counts them");
}

/** Opens GET /events on a raw connection, and waits for the response's head. */
async function subscribe(server: Running, ...fields: string[]): Promise<Client> {
  const client = await Client.connect(server.port);
  await client.send(get("/events", ...fields));
  assert.ok(await client.until("\r\n\r\n"), "the head of the event stream");
  return client;
}

/** The exact bytes of a message's event: an id line, a data line, an empty line. */
const eventOf = (message: Message) => `id: ${message.id}\ndata: ${JSON.stringify(message)}\n\n`;

/** The messages in the events a client has received so far, in order. */
const messagesIn = (client: Client): Message[] =>
  [...client.text.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]));

Deno.test("chat example: Server-Sent Events over raw TCP", async (t) => {
  const server = await startChat();
  const clients: Client[] = [];
  try {
    await t.step(
      "GET /events answers 200, text/event-stream, chunked, and stays open",
      async () => {
        const client = await subscribe(server);
        const head = client.text.slice(0, client.text.indexOf("\r\n\r\n"));
        assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
        assert.match(head, /\r\ncontent-type: text\/event-stream\r\n/);
        assert.match(head, /\r\ntransfer-encoding: chunked\r\n/);
        assert.equal(await client.closedByServer(200), false, "still open after 200 ms"); // then it closes ours
      },
    );

    await t.step(
      "a posted message reaches every subscriber as one event: its id, then its JSON as data",
      async () => {
        clients.push(await subscribe(server), await subscribe(server));
        const message = await postMessage(server, "ada", "Hello, both of you");
        assert.equal(message.id, 1);
        for (const client of clients) assert.ok(await client.until(eventOf(message)), client.text);
      },
    );

    await t.step(
      "a message may come as a form; a missing or too long name or text is a 400, not sent on",
      async () => {
        const form = await fetch(`${server.url}/messages`, {
          method: "POST",
          body: new URLSearchParams({ name: "bob", text: "hi" }),
        });
        assert.equal(form.status, 201);
        const message: Message = await form.json();
        for (
          const bad of [{ name: "bob" }, { name: " ", text: "hi" }, {
            name: "bob",
            text: "x".repeat(501),
          }, null]
        ) {
          const body = JSON.stringify(bad);
          const res = await fetch(`${server.url}/messages`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body,
          });
          assert.equal(res.status, 400, body);
          await res.body?.cancel();
        }
        const after = await postMessage(server, "bob", "still here");
        assert.equal(after.id, message.id + 1, "the refused messages took no id");
        for (const client of clients) assert.ok(await client.until(eventOf(after)));
        for (const client of clients) {
          assert.deepEqual(messagesIn(client).map((m) => m.text), [
            "Hello, both of you",
            "hi",
            "still here",
          ]);
        }
      },
    );

    await t.step(
      "a subscriber that disconnects is dropped, and the server goes on serving the others",
      async () => {
        await untilPages(server, 2);
        clients.shift()!.close();
        await untilPages(server, 1); // the next heartbeat's write failed, and the server cancelled that stream
        const message = await postMessage(server, "ada", "Just us now");
        assert.ok(await clients[0].until(eventOf(message)));
      },
    );

    await t.step("a newcomer gets the last 50 messages, oldest first, then new ones", async () => {
      for (let i = 1; i <= 55; i++) await postMessage(server, "counter", `number ${i}`);
      const newcomer = await subscribe(server);
      clients.push(newcomer);
      assert.ok(await newcomer.until("number 55"));
      const texts = messagesIn(newcomer).map((m) => m.text);
      assert.deepEqual(texts, Array.from({ length: 50 }, (_, i) => `number ${i + 6}`));
      const message = await postMessage(server, "ada", "Welcome");
      assert.ok(await newcomer.until(eventOf(message)));
    });

    await t.step(
      "a page that reconnects with Last-Event-ID gets only the messages after that id",
      async () => {
        const { messages } = await stats(server);
        assert.equal(messages, 50);
        const latest = await postMessage(server, "ada", "the latest");
        const back = await subscribe(server, `Last-Event-ID: ${latest.id - 2}`);
        clients.push(back);
        assert.ok(await back.until(eventOf(latest)));
        assert.deepEqual(messagesIn(back).map((m) => m.id), [latest.id - 1, latest.id]);
      },
    );
  } finally {
    for (const client of clients) client.close();
    await server.stop();
  }
});

// ====================================================== A real browser, driven by the DevTools protocol ============

/** How long Chromium may take to start, or to answer one DevTools command: many times what it needs. */
const BROWSER_MS = 20_000;

/** Chromium, headless, with a throwaway profile; `url` is its DevTools WebSocket, read from what it prints. */
async function launchChromium(): Promise<{ url: string; stop: () => Promise<void> }> {
  const profile = await Deno.makeTempDir({ prefix: "groundwork-chromium-" });
  const child = new Deno.Command(CHROMIUM, {
    args: [
      "--headless",
      "--no-sandbox", // as root, in a container, the sandbox can't start
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking", // no calls home: the test talks to 127.0.0.1 only
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      "--remote-debugging-port=0", // any free port; it prints which
      "about:blank",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let found: (url: string) => void = () => {};
  const listening = new Promise<string>((resolve) => (found = resolve));
  const stderr = collect(child.stderr, (all) => {
    const url = /DevTools listening on (ws:\/\/\S+)/.exec(all)?.[1];
    if (url) found(url);
  });
  const stop = async () => {
    try {
      await stopProcess(child, "Chromium", { printed: stderr.text }); // it exits on SIGTERM, as a browser should
      await within(
        stderr.ended,
        5000,
        "the end of Chromium's stderr (its helper processes hold it too)",
      );
    } finally {
      await Deno.remove(profile, { recursive: true });
    }
  };
  const started = Promise.race([listening, child.status.then(() => null)]);
  const url = await within(started, BROWSER_MS, "Chromium printing its DevTools URL").catch(
    async (err) => {
      await stop().catch(() => {}); // the error that matters is err
      throw new Error(`${err.message}. It printed:\n${stderr.text()}`);
    },
  );
  if (url === null) {
    await stop();
    throw new Error(`Chromium exited before DevTools listened:\n${stderr.text()}`);
  }
  return { url, stop };
}

/** A browser tab, and the DevTools session attached to it. */
type Tab = { targetId: string; sessionId: string };

/** A DevTools protocol connection: JSON commands with an id, each answered by a message with that id. */
class DevTools {
  #next = 0;
  #waiting = new Map<
    number,
    { resolve: (result: unknown) => void; reject: (err: Error) => void }
  >();
  #closed: Promise<void>;
  private constructor(readonly socket: WebSocket) {
    this.#closed = new Promise((resolve) => socket.addEventListener("close", () => resolve()));
    socket.addEventListener("message", (e) => {
      const { id, result, error } = JSON.parse(e.data);
      const waiting = this.#waiting.get(id); // no id: an event, which this test doesn't need
      this.#waiting.delete(id);
      if (error) waiting?.reject(new Error(`DevTools: ${error.message}`));
      else waiting?.resolve(result);
    });
  }
  static async connect(url: string): Promise<DevTools> {
    const socket = new WebSocket(url);
    const opened = new Promise((resolve, reject) => {
      socket.addEventListener("open", resolve);
      socket.addEventListener("error", () => reject(new Error(`Can't open ${url}`)));
    });
    await within(opened, BROWSER_MS, `the DevTools WebSocket at ${url} opening`).catch((err) => {
      socket.close();
      throw err;
    });
    return new DevTools(socket);
  }
  /** Sends a command, to the browser or (with `sessionId`) to one page, and resolves with its result. */
  send<T = Record<string, unknown>>(
    method: string,
    params: object = {},
    sessionId?: string,
  ): Promise<T> {
    const id = ++this.#next;
    this.socket.send(JSON.stringify({ id, method, params, sessionId }));
    const answered = new Promise<T>((resolve, reject) =>
      this.#waiting.set(id, { resolve: resolve as (r: unknown) => void, reject })
    );
    return within(answered, BROWSER_MS, `Chromium's answer to ${method}`);
  }
  /**
   * Opens a tab at `url`, with a session that talks to it ("flatten": over this same socket). In a browser context of
   * its own (`newContext()`), a tab has its own localStorage and cookies, as another person's browser would.
   */
  async open(url: string, browserContextId?: string): Promise<Tab> {
    const { targetId } = await this.send<{ targetId: string }>("Target.createTarget", {
      url,
      browserContextId,
    });
    const { sessionId } = await this.send<{ sessionId: string }>("Target.attachToTarget", {
      targetId,
      flatten: true,
    });
    return { targetId, sessionId };
  }
  /** A new browser context: like a private window, it shares no storage with the others. */
  async newContext(): Promise<string> {
    const { browserContextId } = await this.send<{ browserContextId: string }>(
      "Target.createBrowserContext",
    );
    return browserContextId;
  }
  /** Makes the tab's window `width` × `height` CSS pixels, as a phone's (`mobile`: the viewport meta counts) or not. */
  async resize(tab: Tab, width: number, height: number, mobile: boolean): Promise<void> {
    const metrics = { width, height, deviceScaleFactor: 1, mobile };
    await this.send("Emulation.setDeviceMetricsOverride", metrics, tab.sessionId);
  }
  /** The tab as a PNG, brought to the front first: a hidden tab may never paint. */
  async screenshot(tab: Tab): Promise<Uint8Array> {
    await this.send("Page.bringToFront", {}, tab.sessionId);
    const { data } = await this.send<{ data: string }>(
      "Page.captureScreenshot",
      { format: "png" },
      tab.sessionId,
    );
    return Uint8Array.fromBase64(data);
  }
  /** Runs `expression` in a page and returns its value (a promise is awaited); a thrown error rejects. */
  async evaluate(tab: Tab, expression: string): Promise<unknown> {
    const { result, exceptionDetails } = await this.send<{
      result: { value?: unknown };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    }>("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true }, tab.sessionId);
    if (exceptionDetails) {
      throw new Error(exceptionDetails.exception?.description ?? exceptionDetails.text);
    }
    return result.value;
  }
  /** Evaluates `expression` in a page until it is truthy (a page still loading counts as "not yet"); 10 s at most. */
  async waitFor(tab: Tab, expression: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    let last: unknown;
    while (Date.now() < deadline) {
      last = await this.evaluate(tab, expression).catch((err) => err); // e.g. the page navigated meanwhile
      if (last === true) return;
      await sleep(25);
    }
    throw new Error(`Still not true after 10 s: ${expression} (last: ${last})`);
  }
  async close(): Promise<void> {
    this.socket.close();
    await within(this.#closed, 5000, "the DevTools WebSocket closing");
  }
}

/** Each message on a page as "name: text", in order. */
const shown = `[...document.querySelectorAll("#messages li")]
  .map((li) => li.querySelector(".name").textContent + ": " + li.querySelector(".text").textContent)`;

Deno.test({
  name:
    "chat example: in a real browser, page B shows what page A sends, as text, and a closed page is dropped",
  ignore: !chromiumInstalled,
  async fn() {
    const server = await startChat();
    const chromium = await launchChromium().catch(async (err) => {
      await server.stop();
      throw err;
    });
    const devtools = await DevTools.connect(chromium.url).catch(async (err) => {
      await Promise.all([server.stop(), chromium.stop()]);
      throw err;
    });
    try {
      const [a, b] = [await devtools.open(`${server.url}/`), await devtools.open(`${server.url}/`)];
      const connected = `document.querySelector("#status")?.textContent === "Connected."`;
      await devtools.waitFor(a, connected);
      await devtools.waitFor(b, connected); // B listens before A sends: what it shows was pushed, not history
      await untilPages(server, 2);

      // Page A picks a name and sends a message whose text looks like HTML, the way a user would: type, click.
      const text = `<img src=x onerror="document.title='pwned'"> & <b>bold?</b>`;
      await devtools.evaluate(
        a,
        `document.querySelector("#name").value = "Alice";
         document.querySelector("#text").value = ${JSON.stringify(text)};
         document.querySelector("#send button").click();`,
      );
      await devtools.waitFor(a, `document.querySelector("#text").value === ""`); // cleared once the POST succeeded

      await devtools.waitFor(b, `${shown}.includes(${JSON.stringify(`Alice: ${text}`)})`);
      const li = await devtools.evaluate(
        b,
        `(() => { const text = document.querySelector("#messages li .text");
                  return { text: text.textContent, elements: text.children.length, title: document.title }; })()`,
      );
      assert.deepEqual(
        li,
        { text, elements: 0, title: "Chat" },
        "shown as text: no <img>, no <b>",
      );

      await devtools.send("Target.closeTarget", { targetId: a.targetId });
      await untilPages(server, 1); // the tab's connection closed; the server's next write failed; cancel() ran
      const message = await postMessage(server, "Carol", "anyone left?");
      await devtools.waitFor(b, `${shown}.includes(${JSON.stringify(`Carol: ${message.text}`)})`);
    } finally { // each step runs, even when the one before it failed
      try {
        await devtools.close();
      } finally {
        try {
          await chromium.stop();
        } finally {
          await server.stop();
        }
      }
    }
  },
});

// ====================================================== What a person would check, at two sizes ====================

/** Where the screenshots are kept, and the variable that makes a run write them there. */
const SCREENSHOTS = new URL("../docs/screenshots/", import.meta.url);
const UPDATE_SCREENSHOTS = "GROUNDWORK_UPDATE_SCREENSHOTS";

/** A PNG's width and height, from its IHDR chunk: bytes 16 to 24, after the signature and the chunk's head. */
function pngSize(png: Uint8Array): [number, number] {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assert.deepEqual([...png.subarray(0, 8)], signature, "a PNG");
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return [view.getUint32(16), view.getUint32(20)];
}

/** Types `text` into a page's message box and clicks Send, as a person would. */
async function say(devtools: DevTools, tab: Tab, text: string): Promise<void> {
  await devtools.evaluate(
    tab,
    `document.querySelector("#text").value = ${JSON.stringify(text)};
     document.querySelector("#send button").click();`,
  );
}

/** How the page at hand measures up: what a reviewer would look at with the window at its current size. */
const LAYOUT = `(() => {
  const box = (selector) => document.querySelector(selector).getBoundingClientRect();
  const items = [...document.querySelectorAll("#messages li")].map((li) => {
    const rect = li.getBoundingClientRect();
    const time = li.querySelector("time");
    return {
      name: li.querySelector(".name").textContent,
      mine: li.classList.contains("mine"),
      left: rect.left,
      right: rect.right,
      background: getComputedStyle(li).backgroundColor,
      nameWeight: Number(getComputedStyle(li.querySelector(".name")).fontWeight),
      time: time?.textContent ?? "",
      timeShown: time !== null && time.getBoundingClientRect().height > 0,
    };
  });
  return {
    overflow: document.documentElement.scrollWidth - innerWidth,
    messages: { left: box("#messages").left, right: box("#messages").right },
    form: { left: box("#send").left, right: box("#send").right },
    items,
  };
})()`;

type Layout = {
  overflow: number;
  messages: { left: number; right: number };
  form: { left: number; right: number };
  items: {
    name: string;
    mine: boolean;
    left: number;
    right: number;
    background: string;
    nameWeight: number;
    time: string;
    timeShown: boolean;
  }[];
};

/** Asserts what a person would see at once: nothing to scroll sideways, the form within the box, names and times. */
function assertLooksRight(layout: Layout, size: string): void {
  assert.ok(layout.overflow <= 0, `${size}: the page scrolls ${layout.overflow} px sideways`);
  assert.ok(
    layout.form.left >= layout.messages.left && layout.form.right <= layout.messages.right,
    `${size}: the form (${JSON.stringify(layout.form)}) is wider than the messages (${
      JSON.stringify(layout.messages)
    })`,
  );
  for (const item of layout.items) {
    assert.ok(item.nameWeight >= 600, `${size}: ${item.name}'s name is not bold`);
    assert.ok(item.timeShown && /\d/.test(item.time), `${size}: no time on ${item.name}'s message`);
  }
}

/** Asserts that a page tells `me`'s messages from the others': another class, colour and side of the box. */
function assertMineApart(layout: Layout, me: string): void {
  const mine = layout.items.filter((item) => item.name === me);
  const theirs = layout.items.filter((item) => item.name !== me);
  assert.ok(mine.length > 0 && theirs.length > 0, "messages from both people");
  assert.ok(mine.every((item) => item.mine), `${me}'s own messages have the class "mine"`);
  assert.ok(theirs.every((item) => !item.mine), "the others' do not");
  for (const own of mine) {
    for (const other of theirs) {
      assert.notEqual(own.background, other.background, "mine have another colour");
      assert.ok(own.right > other.right && own.left > other.left, "mine sit on the right");
    }
  }
}

Deno.test({
  name:
    "chat example: in a real browser, at 1000×700 and 390×800, names are bold, times shown, my messages apart, no sideways scroll, the error cleared, the name kept",
  ignore: !chromiumInstalled,
  async fn() {
    const server = await startChat();
    const chromium = await launchChromium().catch(async (err) => {
      await server.stop();
      throw err;
    });
    const devtools = await DevTools.connect(chromium.url).catch(async (err) => {
      await Promise.all([server.stop(), chromium.stop()]);
      throw err;
    });
    // Saved for docs/ only when asked: the times on the page change with every run.
    const update = Deno.env.get(UPDATE_SCREENSHOTS) === "1";
    const folder = update ? SCREENSHOTS : new URL(`file://${await Deno.makeTempDir()}/`);
    if (update) await Deno.mkdir(SCREENSHOTS, { recursive: true });
    try {
      // Ada and Grace, each in a browser context of her own: their names are kept apart in localStorage.
      const ada = await devtools.open(`${server.url}/`);
      const grace = await devtools.open(`${server.url}/`, await devtools.newContext());
      await devtools.resize(ada, 1000, 700, false);
      const connected = `document.querySelector("#status")?.textContent === "Connected."`;
      await devtools.waitFor(ada, connected);
      await devtools.waitFor(grace, connected);
      await devtools.evaluate(ada, `document.querySelector("#name").value = "Ada"`);
      await devtools.evaluate(grace, `document.querySelector("#name").value = "Grace"`);

      const conversation: [Tab, string][] = [
        [ada, "Morning! Did the tests pass last night?"],
        [grace, "All green, three runs in a row."],
        [ada, "Then I'll tag the release. Anything left on the chat page?"],
        [grace, "Only the screenshots. They are in docs/screenshots now, at both sizes."],
      ];
      for (const [tab, text] of conversation) {
        await say(devtools, tab, text);
        const count = conversation.findIndex((line) => line[1] === text) + 1;
        await devtools.waitFor(
          ada,
          `document.querySelectorAll("#messages li").length === ${count}`,
        );
      }

      // A text of spaces only is refused by the server: the page says why, until a message goes through.
      const error = `document.querySelector("#error")`;
      await say(devtools, ada, "   ");
      await devtools.waitFor(
        ada,
        `!${error}.hidden && ${error}.textContent.includes("Send a text")`,
      );
      await say(devtools, ada, "Great, shipping it.");
      await devtools.waitFor(grace, `${shown}.includes("Ada: Great, shipping it.")`);
      await devtools.waitFor(ada, `${error}.hidden && ${error}.textContent === ""`);

      const wide = await devtools.evaluate(ada, LAYOUT) as Layout;
      assertLooksRight(wide, "1000×700");
      assertMineApart(wide, "Ada");
      assertMineApart(await devtools.evaluate(grace, LAYOUT) as Layout, "Grace");
      const widePng = await devtools.screenshot(ada);
      assert.deepEqual(pngSize(widePng), [1000, 700]);
      await Deno.writeFile(new URL("chat-1000x700.png", folder), widePng);

      await devtools.resize(ada, 390, 800, true);
      await devtools.waitFor(ada, `innerWidth === 390`);
      const narrow = await devtools.evaluate(ada, LAYOUT) as Layout;
      assertLooksRight(narrow, "390×800");
      assertMineApart(narrow, "Ada");
      const narrowPng = await devtools.screenshot(ada);
      assert.deepEqual(pngSize(narrowPng), [390, 800]);
      await Deno.writeFile(new URL("chat-390x800.png", folder), narrowPng);

      // A reload keeps the name, and the history that comes back shows Ada's messages as hers.
      await devtools.evaluate(ada, `window.beforeReload = true; location.reload()`);
      await devtools.waitFor(ada, `window.beforeReload === undefined && ${connected}`);
      await devtools.waitFor(ada, `document.querySelectorAll("#messages li").length === 5`);
      assert.equal(await devtools.evaluate(ada, `document.querySelector("#name").value`), "Ada");
      assertMineApart(await devtools.evaluate(ada, LAYOUT) as Layout, "Ada");
    } finally { // each step runs, even when the one before it failed
      try {
        await devtools.close();
      } finally {
        try {
          await chromium.stop();
        } finally {
          await server.stop();
          if (!update) await Deno.remove(folder, { recursive: true });
        }
      }
    }
  },
});
