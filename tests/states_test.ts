// A connection's life, as docs/walkthrough.md draws it and as the server's trace tells it. The doc holds the truth
// here: its state table (each state, its deadline, where it may go next, the trace line it prints), its diagram, and
// its table of paths (the states each path goes through, and why it closes). This file reads all three, drives real
// connections over TCP down each path with `trace` set to a function, and checks the states the server reports
// against the doc's, and each deadline printed against the limit the doc names. Change the server, and this fails
// until the doc says what the server does.
import assert from "node:assert/strict";
import { App, LIMITS, type Limits } from "../mod.ts";
import { Client, get, start, within } from "./helpers.ts";

const DOC_PATH = new URL("../docs/walkthrough.md", import.meta.url);
const DOC = await Deno.readTextFile(DOC_PATH);

// The headings the three tables sit under, and the diagram's fence.
const STATES_HEADING = "#### The states";
const DETAILS_HEADING = "#### Lines within a state";
const PATHS_HEADING = "#### Paths through the states";
const DIAGRAM_FENCE = "```mermaid";

/** How long a path may take to reach its close: its own deadlines are at most a few hundred ms. */
const PATH_MS = 10_000;

// ---------------------------------------------------------------- reading the doc

/** The rows of the first markdown table after `heading`, each a list of its cells, the header row left out. */
function table(heading: string): string[][] {
  const lines = DOC.split("\n");
  const at = lines.findIndex((line) => line.startsWith(heading));
  assert.notEqual(at, -1, `docs/walkthrough.md has no heading "${heading}"`);
  const rows: string[][] = [];
  let inTable = false;
  for (const line of lines.slice(at + 1)) {
    if (line.startsWith("#")) break;
    if (!line.startsWith("|")) {
      if (inTable) break;
      continue;
    }
    inTable = true;
    rows.push(line.slice(1, -1).split("|").map((cell) => cell.trim()));
  }
  assert.ok(rows.length > 2, `no table under "${heading}"`);
  // The first row is the header, the second the |---| line under it.
  return rows.slice(2);
}

/** The text of each `code span` in a cell. */
function codeSpans(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]);
}

/** A trace line as the doc writes it: {a limit's name} stands for its value, {anything else} and … for any text. */
type Template = { text: string; limits: (keyof Limits)[] };

function template(text: string): Template {
  const names = [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
  return { text, limits: names.filter((name) => name in LIMITS) as (keyof Limits)[] };
}

/** The template as a regular expression, its limits matching `limits`' values, or any number if none given. */
function pattern(t: Template, limits?: Limits): RegExp {
  let source = "";
  for (const piece of t.text.split(/(\{\w+\}|\s*…\s*)/)) {
    const name = /^\{(\w+)\}$/.exec(piece)?.[1];
    if (name !== undefined && name in LIMITS) {
      source += limits === undefined ? "\\d+" : String(limits[name as keyof Limits]);
    } else if (name !== undefined || piece.includes("…")) {
      source += "[\\s\\S]*?";
    } else {
      source += piece.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    }
  }
  return new RegExp(`^${source}$`);
}

type StateRow = {
  id: string;
  deadlines: string[];
  next: string[];
  templates: Template[];
};

/** The state table: | State | Name | Entered when | Deadline | Past the deadline | Next | Trace line |. */
function stateRows(): StateRow[] {
  return table(STATES_HEADING).map((cells) => {
    assert.equal(cells.length, 7, `a state row has 7 cells: ${cells.join(" | ")}`);
    const [id] = codeSpans(cells[0]);
    return {
      id,
      deadlines: codeSpans(cells[3]),
      next: codeSpans(cells[5]),
      templates: codeSpans(cells[6]).map(template),
    };
  });
}

/** The lines a state may print besides the one that enters it: | Trace line | When |. */
function detailTemplates(): Template[] {
  return table(DETAILS_HEADING).flatMap((cells) => codeSpans(cells[0]).map(template));
}

type PathRow = { name: string; states: string[]; why: string };

/** The paths: | Path | States | Closed because |. */
function pathRows(): PathRow[] {
  return table(PATHS_HEADING).map((cells) => {
    const [why] = codeSpans(cells[2]);
    return { name: cells[0], states: codeSpans(cells[1]), why };
  });
}

/** The diagram's moves, "from to", [*] left out: the start and the end are not states. */
function diagramMoves(): Set<string> {
  const start = DOC.indexOf(DIAGRAM_FENCE);
  assert.notEqual(start, -1, "docs/walkthrough.md has no mermaid diagram");
  const body = DOC.slice(start + DIAGRAM_FENCE.length, DOC.indexOf("```", start + 3));
  const moves = new Set<string>();
  for (const match of body.matchAll(/^\s*(\[\*\]|\w+)\s*-->\s*(\[\*\]|\w+)/gm)) {
    if (match[1] !== "[*]" && match[2] !== "[*]") moves.add(`${match[1]} ${match[2]}`);
  }
  return moves;
}

const STATES = stateRows();
const DETAILS = detailTemplates();
const PATHS = pathRows();

// ---------------------------------------------------------------- reading the trace

/** One line of the trace: which connection, and what it said (a head's lines included). */
type Entry = { id: number; text: string };

/** Collects the trace, and tells when a connection has printed that it closed. */
class Trace {
  readonly entries: Entry[] = [];
  #closed = new Map<number, () => void>();
  #waits = new Map<number, Promise<void>>();

  /** The function given to the server as its `trace` option. */
  line = (line: string): void => {
    const match = /^#(\d+) \+\d+ms ([\s\S]*)$/.exec(line);
    assert.ok(match, `a trace line starts with #id and +ms: ${JSON.stringify(line)}`);
    const entry = { id: Number(match[1]), text: match[2] };
    this.entries.push(entry);
    if (entry.text.startsWith("closed: ")) this.#closedSignal(entry.id)();
  };

  /** Resolves once connection `id` has printed "closed: ...", or fails after PATH_MS. */
  closed(id: number): Promise<void> {
    this.#closedSignal(id);
    return within(this.#waits.get(id)!, PATH_MS, `the trace's "closed:" line for #${id}`);
  }

  #closedSignal(id: number): () => void {
    if (!this.#closed.has(id)) {
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#closed.set(id, resolve);
      this.#waits.set(id, promise);
    }
    return this.#closed.get(id)!;
  }
}

/**
 * The states connection `id` went through, as the trace reports them. A line belongs to the last state row whose
 * template it matches (a stream's head is an answer's head too, with transfer-encoding: chunked), or else must be
 * one of the lines within a state. Each deadline a state line prints must be the value of the limit it names.
 */
function statesOf(trace: Trace, id: number, limits: Limits): string[] {
  const states: string[] = [];
  for (const { text } of trace.entries.filter((entry) => entry.id === id)) {
    const row = STATES.findLast((r) => r.templates.some((t) => pattern(t).test(text)));
    if (row === undefined) {
      const known = DETAILS.some((t) => pattern(t).test(text));
      assert.ok(known, `a trace line that no row of the doc's tables names:\n${text}`);
      continue;
    }
    const exact = row.templates.some((t) => pattern(t, limits).test(text));
    assert.ok(exact, `"${row.id}" printed a deadline other than the limit the doc names:\n${text}`);
    states.push(row.id);
  }
  return states;
}

/** Why connection `id` closed, as its last line says. */
function closeReason(trace: Trace, id: number): string {
  const last = trace.entries.filter((entry) => entry.id === id).at(-1)?.text ?? "";
  assert.ok(last.startsWith("closed: "), `#${id}'s last line says why it closed: ${last}`);
  return last.slice("closed: ".length);
}

// ---------------------------------------------------------------- the paths, driven over TCP

const encoder = new TextEncoder();

// Each limit has a value of its own, so that a deadline printed for the wrong limit can't pass for the right one.
// A path about one deadline makes that one short.
const DISTINCT: Partial<Limits> = {
  idleTimeoutMs: 2100,
  headersTimeoutMs: 2200,
  bodyTimeoutMs: 2300,
  handlerTimeoutMs: 2400,
  closeGraceMs: 2500,
};
const SHORT_MS = 300;

const app = new App()
  .get("/", () => "hello")
  .post("/upload", async (req) => `got ${(await req.bytes()).length}`)
  .get("/late", () => new Promise<never>(() => {})) // a handler that never answers
  .get("/stream", () => ReadableStream.from(["one\n", "two\n"].map((text) => encoder.encode(text))))
  .get("/endless", () =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode("one\n")); // and no more, and never the end
      },
    }));

type Started = Awaited<ReturnType<typeof start>>;

/** What the client does on one path, and the limits its server gets. */
type Driver = {
  limits?: Partial<Limits>;
  drive: (client: Client, server: Started) => Promise<void>;
};

/** Sends `request`, and checks the one answer's status and body. */
async function exchange(client: Client, request: string, status: number, body?: string) {
  await client.send(request);
  const [res] = await client.next();
  assert.equal(res?.status, status, `the answer to ${JSON.stringify(request.slice(0, 40))}`);
  if (body !== undefined) assert.equal(res.body, body);
}

const POST_LENGTH = "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello";
const POST_CHUNKED =
  "POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" +
  "3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n";

/** Each path in the doc's table, by its name there. */
const DRIVERS: Record<string, Driver> = {
  "a keep-alive GET, twice": {
    async drive(client) {
      await exchange(client, get("/"), 200, "hello");
      await exchange(client, get("/"), 200, "hello");
      client.close();
    },
  },
  "a POST with Content-Length": {
    async drive(client) {
      await exchange(client, POST_LENGTH, 200, "got 5");
      client.close();
    },
  },
  "a chunked POST": {
    async drive(client) {
      await exchange(client, POST_CHUNKED, 200, "got 5");
      client.close();
    },
  },
  "a malformed request": {
    async drive(client) {
      await exchange(client, "GET / HTTP/1.1\r\nHost localhost\r\n\r\n", 400);
      assert.ok(await client.closedByServer(PATH_MS), "the server closed after its 400");
    },
  },
  "an idle timeout": {
    limits: { idleTimeoutMs: SHORT_MS },
    async drive(client) {
      assert.ok(await client.closedByServer(PATH_MS), "the server closed the silent connection");
      assert.equal(client.text, "", "with no answer: there was no request");
    },
  },
  "a head that is too slow": {
    limits: { headersTimeoutMs: SHORT_MS },
    async drive(client) {
      await client.send("GET / HTTP/1.1\r\nHost: lo");
      assert.ok(await client.closedByServer(PATH_MS), "the server closed the stalled connection");
      assert.match(client.text, /^HTTP\/1\.1 408 Request Timeout\r\n/, "the client is told why");
    },
  },
  "a body that is too slow": {
    limits: { bodyTimeoutMs: SHORT_MS },
    async drive(client) {
      await client.send(
        "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n012",
      );
      assert.ok(await client.closedByServer(PATH_MS), "the server closed the stalled connection");
      assert.match(client.text, /^HTTP\/1\.1 408 Request Timeout\r\n/, "the client is told why");
    },
  },
  "a handler past its deadline": {
    limits: { handlerTimeoutMs: SHORT_MS },
    async drive(client) {
      await exchange(client, get("/late"), 503);
      assert.ok(await client.closedByServer(PATH_MS), "the server closed after its 503");
    },
  },
  "a stream": {
    async drive(client) {
      await exchange(client, get("/stream"), 200, "one\ntwo\n");
      client.close();
    },
  },
  "close() during a stream": {
    limits: { closeGraceMs: SHORT_MS },
    async drive(client, server) {
      await client.send(get("/endless"));
      assert.ok(await client.until("one\n", PATH_MS), "the stream's first piece came");
      await server.close();
      assert.ok(
        await client.closedByServer(PATH_MS),
        "the server closed once the grace had passed",
      );
      assert.ok(client.text.endsWith("one\n\r\n0\r\n\r\n"), "the stream ended with its last chunk");
    },
  },
};

// ---------------------------------------------------------------- the tests

Deno.test("the state table and the diagram in docs/walkthrough.md draw the same moves between the same states", () => {
  const ids = new Set(STATES.map((row) => row.id));
  assert.equal(ids.size, STATES.length, "each state has one row");
  const tableMoves = new Set<string>();
  for (const row of STATES) {
    for (const next of row.next) {
      assert.ok(ids.has(next), `"${row.id}" moves to "${next}", which has no row`);
      tableMoves.add(`${row.id} ${next}`);
    }
  }
  assert.deepEqual([...diagramMoves()].sort(), [...tableMoves].sort());
});

Deno.test("each deadline a state's trace line prints is a limit that its row names, and one of LIMITS", () => {
  for (const row of STATES) {
    for (const name of row.deadlines.filter((span) => /Ms$/.test(span))) {
      assert.ok(name in LIMITS, `"${row.id}" names ${name}, which is not in LIMITS`);
    }
    for (const t of row.templates) {
      for (const name of t.limits) {
        assert.ok(row.deadlines.includes(name), `"${row.id}" prints ${name} but names another`);
      }
    }
  }
});

Deno.test("every path in docs/walkthrough.md is driven here, and no other", () => {
  assert.deepEqual(PATHS.map((path) => path.name).sort(), Object.keys(DRIVERS).sort());
});

for (const path of PATHS) {
  const driver = DRIVERS[path.name];
  if (driver === undefined) continue; // the test above names it
  Deno.test(`${path.name}: the trace reports ${path.states.join(" → ")}, then "${path.why}"`, async () => {
    const limits: Limits = { ...LIMITS, ...DISTINCT, ...driver.limits };
    const trace = new Trace();
    const server = await start(app, { ...limits, trace: trace.line });
    const client = await Client.connect(server.port);
    try {
      await driver.drive(client, server);
      await trace.closed(1);
      const states = statesOf(trace, 1, limits);
      assert.deepEqual(states, path.states);
      for (let i = 1; i < states.length; i++) {
        const from = STATES.find((row) => row.id === states[i - 1])!;
        assert.ok(from.next.includes(states[i]), `the doc has no move ${from.id} → ${states[i]}`);
      }
      assert.equal(closeReason(trace, 1), path.why);
      assert.equal(trace.entries.some((entry) => entry.id !== 1), false, "one connection only");
    } finally {
      client.close();
      await server.close();
    }
  });
}

Deno.test("serves a second client while the first is half-way through its head: one event loop, no thread per connection", async () => {
  const limits: Limits = { ...LIMITS, ...DISTINCT };
  const trace = new Trace();
  const server = await start(app, { ...limits, trace: trace.line });
  const slow = await Client.connect(server.port);
  const quick = await Client.connect(server.port);
  try {
    await slow.send("GET / HTTP/1.1\r\nHo");
    await exchange(quick, get("/"), 200, "hello");
    // #1 is still waiting for the rest of its head, and has not closed.
    assert.equal(statesOf(trace, 1, limits).at(-1), "head");
    quick.close();
    await trace.closed(2);
    await exchange(slow, "st: localhost\r\n\r\n", 200, "hello");
    slow.close();
    await trace.closed(1);
    assert.deepEqual(statesOf(trace, 1, limits), statesOf(trace, 2, limits));
  } finally {
    slow.close();
    quick.close();
    await server.close();
  }
});
