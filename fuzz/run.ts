/**
 * The fuzzer's run: groundwork's own Server, in this process, with a small App, driven over real
 * TCP on 127.0.0.1 by many connections at once, one input on each. Every input is checked against
 * the criteria below, and the report counts what came back.
 *
 * Used by `fuzz/fuzz.ts` (`deno task fuzz`) and by `tests/fuzz_test.ts` (a short seeded run).
 * @module
 */
import { App, Response, Server, type ServerOptions } from "../mod.ts";
import { frameRequests, type Framing, readAnswers } from "./check.ts";
import { fromBytes, type Input, makeInput, toBytes } from "./inputs.ts";

/**
 * How long the event loop may go without turning before the run counts a stall: far longer than
 * any turn takes while the server works (a few ms), so only an input that costs seconds of CPU
 * (a regular expression that backtracks, say) reaches it.
 */
export const STALL_MS = 2000;

/** What the fuzzer checks. Each is counted: how often it was checked, and how often it failed. */
export const CRITERIA = {
  alive: "the process never dies: no uncaught error, no unhandled rejection",
  stderr: "nothing is printed on stderr but access-log lines",
  http: "every answer is valid HTTP/1.1, its framing consistent, none cut short",
  status: "no request gets a 5xx other than 501 or 505",
  smuggling: "a request hidden in a body is never answered as its own",
  order: "each answer the app gives is to the request a strict reader sees in that place",
  fresh: "the server serves a fresh connection after each batch",
  ends: "no connection is left hanging: each ends within its deadline",
  stall: `no input stalls the server: its event loop never stops for ${STALL_MS} ms or more`,
} as const;

/** How often the stall watch looks at the clock. */
const WATCH_MS = 100;

/** One of the criteria. */
export type Criterion = keyof typeof CRITERIA;

/** A criterion broken: by which input, how, and the bytes that did it. */
export type Violation = {
  criterion: Criterion;
  /** The input's number, or -1 for a probe or for the process as a whole. */
  index: number;
  detail: string;
  input?: Input;
};

/** How a connection ended. */
type Ending = "closed by the server" | "reset by the server" | "kept alive, closed by us" | "hung";

/** What the run counted. */
export type Report = {
  seed: number;
  count: number;
  concurrency: number;
  knownBugs: boolean;
  ms: number;
  checked: Record<Criterion, number>;
  failed: Record<Criterion, number>;
  /** The first violations of each criterion, with their inputs. */
  violations: Violation[];
  statuses: Map<number, number>;
  endings: Map<string, number>;
  mutations: Map<string, number>;
  seeds: Map<string, number>;
  /** How the strict reader framed the inputs. */
  framings: Map<string, number>;
  answers: number;
  interim: number;
  bytesSent: number;
  bytesReceived: number;
  logLines: number;
  /** The longest the event loop went without turning, in ms, and the inputs in flight then. */
  longestTurnMs: number;
  inFlightThen: number[];
  /** Where the server and the strict reader part ways, within the criteria: counts and inputs. */
  notes: Map<string, number>;
  noted: { note: string; input: Input }[];
};

/** What a run is given. */
export type RunOptions = {
  seed: number;
  count: number;
  /** The first input's number (0 unless given): with count 1, one input replayed. */
  first?: number;
  /** How many connections at once; 64 unless given. */
  concurrency?: number;
  /** After this many inputs, a fresh connection must be served; 1000 unless given. */
  batch?: number;
  /** Past this, an input's connection hangs; 5000 ms unless given. */
  deadlineMs?: number;
  /**
   * Something to put between the fuzzer and the server, such as a proxy: given the server's port,
   * it listens on its own, and the inputs go there. The fuzzer's own tests use it to show that each
   * criterion can fail.
   */
  via?: (port: number) => Promise<{ port: number; close: () => Promise<void> }>;
  /** Mutations that trip known bugs in mod.ts are made too (see KNOWN_BUG_MUTATIONS). */
  knownBugs?: boolean;
  /** Called with the number of inputs done, now and then. */
  progress?: (done: number) => void;
  /** Called with each input, how the strict reader framed it, what came back and how it ended. */
  onInput?: (input: Input, framing: Framing, received: string, ending: string) => void;
};

/**
 * The server's time limits during a run: short, so that an input cut short costs half a second
 * rather than ten. Every other limit keeps its default.
 */
export const FUZZ_LIMITS: ServerOptions = {
  headersTimeoutMs: 500,
  bodyTimeoutMs: 500,
  idleTimeoutMs: 500,
};

/** How many violations of each criterion the report keeps, with their inputs. */
const KEPT_PER_CRITERION = 10;

/** An access-log line as the Server prints it: method, path, status, bytes, milliseconds. */
const ACCESS_LOG = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ \S+ [1-5][0-9]{2} [0-9]+B [0-9]+\.[0-9]ms$/;

/**
 * The app under test: a marker route, an echo that reads the body, and a count of every request
 * to a path starting "/smuggled", which only ever comes hidden in a body. Every answer names the
 * path it answers in `x-answered`, so that the fuzzer can tell which request was answered.
 */
function makeApp(hits: Map<string, number>): App {
  return new App()
    .use(async (req, next) => {
      if (req.path.startsWith("/smuggled")) {
        hits.set(req.path, (hits.get(req.path) ?? 0) + 1);
        return new Response(`SMUGGLED ${req.path}`, { headers: { "x-answered": req.path } });
      }
      const res = await next();
      res.headers.set("x-answered", req.path);
      return res;
    })
    .get("/marker/:id", (req) => `answered ${req.path}`)
    .post("/echo", async (req) => {
      const type = req.headers.get("content-type") ?? "application/octet-stream";
      return new Response(await req.bytes(), { headers: { "content-type": type } });
    });
}

/** A binary string as a JSON string whose bytes past ASCII are escaped too: a reproducer. */
export function showBytes(text: string): string {
  return JSON.stringify(text).replace(
    /[\x7f-\xff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Writes all of `bytes`; false if the server closed first. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<boolean> {
  try {
    let sent = 0;
    while (sent < bytes.length) sent += await conn.write(bytes.subarray(sent));
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends one input on a connection of its own, and reads until the server closes it, or until every
 * request the strict reader sees has been answered on a connection kept alive (then we close it),
 * or the deadline.
 */
async function drive(port: number, input: Input, framing: Framing, deadlineMs: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  let ending: Ending | undefined;
  let received = "";
  let written = false;
  const end = (how: Ending) => {
    ending ??= how;
    try {
      conn.close();
    } catch { /* closed already */ }
  };
  const timer = setTimeout(() => end("hung"), deadlineMs);
  const isHead = (k: number) => framing.requests[k]?.method === "HEAD";
  // All the answers are in, on a connection the server keeps open: ours to close.
  const answered = () => {
    if (!written || framing.end !== "whole") return;
    try {
      const { answers, rest, closeDelimited } = readAnswers(received, isHead);
      const last = answers.at(-1);
      if (answers.length < framing.requests.length || rest !== "" || closeDelimited) return;
      if (last === undefined || !last.closes) end("kept alive, closed by us");
    } catch { /* a bad answer: the checks after the end will say so */ }
  };
  const writing = (async () => {
    const bytes = toBytes(input.text);
    let start = 0;
    for (const { at, pauseMs } of [...input.writes, { at: bytes.length, pauseMs: 0 }]) {
      if (!(await writeAll(conn, bytes.subarray(start, at)))) return;
      start = at;
      if (at < bytes.length) await sleep(pauseMs);
    }
    written = true;
    answered();
  })();
  const buffer = new Uint8Array(16 * 1024);
  while (ending === undefined) {
    let count: number | null = null;
    try {
      count = await conn.read(buffer);
    } catch (err) {
      // Closed by us (the deadline, or all answered), or reset by the server.
      if (ending === undefined && (err as Error).name === "ConnectionReset") {
        end("reset by the server");
      }
      end("closed by the server");
      break;
    }
    if (count === null) {
      end("closed by the server");
      break;
    }
    received += fromBytes(buffer.subarray(0, count));
    answered();
  }
  clearTimeout(timer);
  await writing;
  return { received, ending: ending! };
}

/** A fresh connection is served: GET /marker/probe-N gets its 200. */
async function probe(port: number, n: number, deadlineMs: number): Promise<string | undefined> {
  const path = `/marker/probe-${n}`;
  const text = `GET ${path} HTTP/1.1\r\nHost: fuzz.test\r\nConnection: close\r\n\r\n`;
  const input: Input = { index: -1, seed: "probe", mutations: [], text, writes: [] };
  const framing = frameRequests(text);
  try {
    const { received, ending } = await drive(port, input, framing, deadlineMs);
    const { answers } = readAnswers(received, () => false);
    if (ending === "hung") return `a probe got no whole answer within ${deadlineMs} ms`;
    if (answers[0]?.status !== 200 || answers[0].body !== `answered ${path}`) {
      return `a probe got ${showBytes(received.slice(0, 200))}`;
    }
  } catch (err) {
    return `a probe failed: ${(err as Error).message}`;
  }
}

/** Adds one to a count. */
function bump<K>(counts: Map<K, number>, key: K, by = 1): void {
  counts.set(key, (counts.get(key) ?? 0) + by);
}

/** Runs the inputs `first` to `first + count - 1` of `seed` against a fresh server, and reports. */
export async function fuzz(options: RunOptions): Promise<Report> {
  const { seed, count } = options;
  const first = options.first ?? 0;
  const concurrency = options.concurrency ?? 64;
  const batch = options.batch ?? 1000;
  const deadlineMs = options.deadlineMs ?? 5000;
  const zero = () => Object.fromEntries(Object.keys(CRITERIA).map((c) => [c, 0]));
  const report: Report = {
    seed,
    count,
    concurrency,
    knownBugs: options.knownBugs ?? false,
    ms: 0,
    checked: zero() as Record<Criterion, number>,
    failed: zero() as Record<Criterion, number>,
    violations: [],
    statuses: new Map(),
    endings: new Map(),
    mutations: new Map(),
    seeds: new Map(),
    framings: new Map(),
    answers: 0,
    interim: 0,
    bytesSent: 0,
    bytesReceived: 0,
    logLines: 0,
    longestTurnMs: 0,
    inFlightThen: [],
    notes: new Map(),
    noted: [],
  };
  const note = (what: string, input: Input) => {
    bump(report.notes, what);
    if (report.noted.filter((n) => n.note === what).length < 3) {
      report.noted.push({ note: what, input });
    }
  };
  const check = (
    criterion: Criterion,
    ok: boolean,
    index: number,
    detail: () => string,
    input?: Input,
  ) => {
    report.checked[criterion]++;
    if (ok) return;
    report.failed[criterion]++;
    const kept = report.violations.filter((v) => v.criterion === criterion).length;
    if (kept < KEPT_PER_CRITERION) {
      report.violations.push({ criterion, index, detail: detail(), input });
    }
  };

  // The process must not die: an uncaught error or rejection is counted, and kept from killing it.
  const uncaught = (event: ErrorEvent | PromiseRejectionEvent) => {
    event.preventDefault();
    const error = "error" in event ? event.error : event.reason;
    check("alive", false, -1, () => `uncaught: ${(error as Error)?.stack ?? String(error)}`);
  };
  globalThis.addEventListener("error", uncaught);
  globalThis.addEventListener("unhandledrejection", uncaught);
  // Whatever is printed on stderr is read: only access-log lines may be there.
  const consoleError = console.error;
  console.error = (...args: unknown[]) => {
    const printed = args.map((a) => a instanceof Error ? a.stack : String(a)).join(" ");
    for (const line of printed.split("\n")) {
      report.logLines++;
      check("stderr", ACCESS_LOG.test(line), -1, () => `printed: ${printed.slice(0, 2000)}`);
    }
  };

  const hits = new Map<string, number>();
  // How often the strict reader saw each /smuggled path as a request, and an input that holds it.
  const allowed = new Map<string, number>();
  const holders = new Map<string, number>();
  const started = performance.now();
  const server = new Server(makeApp(hits).handle, {
    port: 0,
    hostname: "127.0.0.1",
    ...FUZZ_LIMITS,
  });
  const listening = await server.listen();
  const middlebox = await options.via?.(listening.port);
  const port = middlebox?.port ?? listening.port;
  const probes: Promise<void>[] = [];
  const doneInBatch = new Map<number, number>();
  let next = first;
  let done = 0;

  // The stall watch: a timer that should fire every WATCH_MS. When it fires late, something kept the
  // event loop busy meanwhile; the inputs in flight then are the suspects.
  const inFlight = new Set<number>();
  let lastTurn = performance.now();
  const watch = setInterval(() => {
    const now = performance.now();
    const turn = now - lastTurn - WATCH_MS;
    lastTurn = now;
    if (turn > report.longestTurnMs) {
      report.longestTurnMs = turn;
      report.inFlightThen = [...inFlight].sort((a, b) => a - b);
    }
    const suspects = () => [...inFlight].sort((a, b) => a - b).slice(0, 20).join(", ");
    check(
      "stall",
      turn < STALL_MS,
      -1,
      () => `stopped ${turn.toFixed(0)} ms; in flight: ${suspects()}`,
    );
  }, WATCH_MS);

  const one = async (index: number) => {
    inFlight.add(index);
    try {
      await oneInput(index);
    } finally {
      inFlight.delete(index);
    }
    // A batch done: a fresh connection must be served.
    const batchNumber = Math.floor((index - first) / batch);
    bump(doneInBatch, batchNumber);
    const size = Math.min(batch, count - batchNumber * batch);
    if (doneInBatch.get(batchNumber) === size) {
      probes.push(
        probe(port, batchNumber, deadlineMs).then((why) => {
          check("fresh", why === undefined, -1, () => `after batch ${batchNumber}: ${why}`);
        }),
      );
    }
  };

  const oneInput = async (index: number) => {
    const input = makeInput(seed, index, options.knownBugs);
    const framing = frameRequests(input.text);
    for (const name of input.mutations) bump(report.mutations, name);
    bump(report.seeds, input.seed);
    bump(report.framings, framing.end);
    for (const request of framing.requests) {
      if (request.path.startsWith("/smuggled")) bump(allowed, request.path);
    }
    for (const match of input.text.matchAll(/\/smuggled-[0-9]+/g)) {
      if (!holders.has(match[0])) holders.set(match[0], index);
    }
    report.bytesSent += input.text.length;
    let received = "";
    let ending: Ending = "hung";
    try {
      ({ received, ending } = await drive(port, input, framing, deadlineMs));
    } catch (err) {
      check("fresh", false, index, () => `no connection: ${(err as Error).message}`, input);
      return;
    }
    options.onInput?.(input, framing, received, ending);
    report.bytesReceived += received.length;
    bump(report.endings, ending);
    check("ends", ending !== "hung", index, () => `no end within ${deadlineMs} ms`, input);
    const isHead = (k: number) => {
      if (k < framing.requests.length) return framing.requests[k].method === "HEAD";
      return framing.refusedMethod === "HEAD";
    };
    let parsed;
    try {
      parsed = readAnswers(received, isHead);
    } catch (err) {
      check("http", false, index, () => `${(err as Error).message}: ${showBytes(received)}`, input);
      return;
    }
    // Once the server has closed, every answer must be whole. (A hung one is counted above.)
    const cut = parsed.rest !== "" && ending.endsWith("by the server");
    check("http", !cut, index, () => `an answer cut short: ${showBytes(parsed.rest)}`, input);
    report.answers += parsed.answers.length;
    report.interim += parsed.interim;
    const seen = framing.requests.map((request) => request.path);
    const answeredPaths: string[] = [];
    for (const answer of parsed.answers) {
      bump(report.statuses, answer.status);
      const ok = answer.status < 500 || answer.status === 501 || answer.status === 505;
      check("status", ok, index, () => `${answer.status}: ${showBytes(answer.body)}`, input);
      const path = answer.fields.get("x-answered")?.[0];
      if (path !== undefined) answeredPaths.push(path);
      if (answer.body.startsWith("SMUGGLED ")) {
        const smuggled = answer.body.slice("SMUGGLED ".length);
        check("smuggling", seen.includes(smuggled), index, () => `answered ${smuggled}`, input);
      }
    }
    if (/\/smuggled/.test(input.text)) check("smuggling", true, index, () => "");
    // The app's answers are to the requests the strict reader sees, in its order.
    const inOrder = answeredPaths.every((path, k) => path === seen[k]);
    const show = () =>
      `answered ${answeredPaths.join(" ")}; a strict reader sees ${seen.join(" ")}`;
    check("order", inOrder, index, show, input);

    // Where the server answered fewer requests, or more, than the strict reader expects.
    const closing = framing.closesAfter ?? Infinity;
    // A request refused gets its 4xx; one cut short, its 408 once the server stops waiting for it.
    const last = framing.end === "whole" ? 0 : 1;
    const expected = Math.min(seen.length + last, closing + 1);
    const got = parsed.answers.length;
    if (got < expected && ending !== "kept alive, closed by us") {
      note(
        got === 0 ? "closed with no answer at all" : "fewer answers than a strict reader expects",
        input,
      );
    }
    if (got > expected) note("more answers than a strict reader expects", input);
  };

  const worker = async () => {
    while (next < first + count) {
      const index = next++;
      await one(index);
      done++;
      if (done % 1000 === 0) options.progress?.(done);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    await Promise.all(probes);
  } finally {
    clearInterval(watch);
    await middlebox?.close();
    await server.close();
    report.ms = performance.now() - started;
    console.error = consoleError;
    // An error already queued is still seen before the listeners go.
    await sleep(0);
    globalThis.removeEventListener("error", uncaught);
    globalThis.removeEventListener("unhandledrejection", uncaught);
  }

  // Every connection is over now: the app's count of hidden requests answered is final.
  for (const [path, times] of hits) {
    const index = holders.get(path) ?? -1;
    const input = index === -1 ? undefined : makeInput(seed, index, options.knownBugs);
    const detail = () =>
      `${path} answered ${times} times; a strict reader sees it ${allowed.get(path) ?? 0}`;
    check("smuggling", times <= (allowed.get(path) ?? 0), index, detail, input);
  }
  for (let i = 0; i < count; i++) check("alive", true, -1, () => "");
  return report;
}

/** A count's entries, biggest first, as "key: n" lines. */
function table<K>(counts: Map<K, number>, indent = "  "): string {
  return [...counts].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])))
    .map(([key, n]) => `${indent}${String(key).padEnd(48)} ${n}`).join("\n");
}

/** The report as text: the figures, each criterion's count, and a reproducer per violation kept. */
export function formatReport(report: Report): string {
  const bugs = report.knownBugs ? " --known-bugs" : "";
  const more = report.inFlightThen.length > 8 ? ", ..." : "";
  const suspects = `with inputs ${report.inFlightThen.slice(0, 8).join(", ")}${more} in flight`;
  const seconds = report.ms / 1000;
  const lines = [
    `groundwork fuzz: seed ${report.seed}, ${report.count} inputs, ${report.concurrency} at once` +
    (report.knownBugs ? ", known bugs tripped too" : ""),
    `time: ${seconds.toFixed(1)} s (${Math.round(report.count / seconds)} inputs/s)`,
    `bytes: ${report.bytesSent} sent, ${report.bytesReceived} received`,
    `answers: ${report.answers} final, ${report.interim} interim (100 Continue)`,
    `access-log lines on stderr: ${report.logLines}`,
    `the longest turn of the event loop: ${report.longestTurnMs.toFixed(0)} ms, ${suspects}`,
    "",
    "statuses:",
    table(new Map([...report.statuses].sort((a, b) => a[0] - b[0]))),
    "how connections ended:",
    table(report.endings),
    "how a strict reader framed the inputs (whole, refused, short):",
    table(report.framings),
    "requests the inputs started from:",
    table(report.seeds),
    "mutations made:",
    table(report.mutations),
    "",
    "where the server and a strict reader part ways (not criteria):",
    table(report.notes),
    "",
    "criteria (checked, failed):",
  ];
  for (const [criterion, text] of Object.entries(CRITERIA) as [Criterion, string][]) {
    const failed = report.failed[criterion];
    lines.push(
      `  ${failed === 0 ? "ok  " : "FAIL"} ${text}: ${
        report.checked[criterion]
      } checked, ${failed} failed`,
    );
  }
  for (const v of report.violations) {
    lines.push("", `violation (${v.criterion}): ${v.detail}`);
    if (v.input === undefined) continue;
    lines.push(`  reproduce: deno task fuzz --seed ${report.seed} --index ${v.index}${bugs}`);
    lines.push(`  made from: ${v.input.seed}; ${v.input.mutations.join(", ") || "unchanged"}`);
    lines.push(`  bytes: ${showBytes(v.input.text)}`);
    if (v.input.writes.length > 0) {
      const writes = v.input.writes.map((w) => `${w.at} (after ${w.pauseMs} ms)`).join(", ");
      lines.push(`  further writes start at bytes: ${writes}`);
    }
  }
  for (const { note, input } of report.noted) {
    lines.push(
      "",
      `noted (${note}): deno task fuzz --seed ${report.seed} --index ${input.index}${bugs}`,
    );
    lines.push(`  bytes: ${showBytes(input.text)}`);
  }
  return lines.join("\n");
}
