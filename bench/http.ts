// The HTTP benchmark (issue 4): four servers with the same four routes, driven by wrk on 127.0.0.1.
//   deno task bench                                          (this, then bench/router.ts; writes bench/RESULTS.md)
//   deno run -A bench/http.ts --duration 1 --rounds 1 --only json,pipeline          (a quick look)
//   deno task bench:before runs bench/before.ts instead: issue 11's rows, the two servers side by side on one core
//
// Each workload starts the four servers afresh (so each peak RSS belongs to that workload), warms each up, then
// drives them in turn, A B C D A B C D ..., so that drift in the machine (a noisy neighbour, a CPU clocking down)
// hits all four alike. A server's figure is the median of its rounds, and its ratio is to raw Deno.serve measured
// in the same run: absolute numbers say more about this machine than about the servers.
import { parseArgs } from "node:util";

const flags = parseArgs({
  args: Deno.args,
  options: {
    duration: { type: "string", default: "3" }, // seconds per wrk run
    rounds: { type: "string", default: "3" },
    warmup: { type: "string", default: "1" }, // seconds of wrk per server before the rounds, not counted
    only: { type: "string" }, // comma-separated workload ids, e.g. "hello,json" or "multicore"
    // The git revision whose mod.ts also runs, beside today's ("" for none): issue 11's reference.
    before: { type: "string", default: "95922be" },
    servers: { type: "string" }, // comma-separated server ids, e.g. "raw,groundwork,before"
    out: { type: "string" }, // where the report goes, from the project's root; by default bench/RESULTS.md
  },
});
const DURATION = Number(flags.values.duration), ROUNDS = Number(flags.values.rounds);
const WARMUP = Number(flags.values.warmup), ONLY = flags.values.only?.split(",");
const CONNECTIONS = 64, THREADS = 2, DEPTH = 16; // wrk -t2 -c64; 16 requests per write when pipelining
const HERE = new URL(".", import.meta.url).pathname;
const RESULTS = flags.values.out ? `${HERE}../${flags.values.out}` : `${HERE}RESULTS.md`;
const STARTED = new Date(),
  LOAD_AT_START = Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
const CLOCK_TICKS = 100; // the unit of /proc/<pid>/stat's CPU times: USER_HZ, 100 on Linux (`getconf CLK_TCK`)

// ====================================================== What runs ==================================================

/**
 * A way to start a server: its `deno` arguments for a port and the folder the servers are in, how many processes
 * share the port, its DENO_JOBS.
 */
type Launcher = {
  id: string;
  name: string;
  args: (port: number, servers: string) => string[];
  processes?: number;
  jobs?: string;
};

const SEMI_SPACE = "--v8-flags=--max-semi-space-size=4";
function run(file: string, ...flags: string[]): Launcher["args"] {
  return (
    port,
    servers,
  ) => ["run", "--allow-all", ...flags, `${servers}/${file}`, "--port", String(port)];
}
function serve(port: number, servers: string): string[] { // `deno serve` wants the default export: serve_app.ts has it
  const file = `${servers}/serve_app.ts`;
  return [
    "serve",
    "--allow-all",
    "--parallel",
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    file,
  ];
}
function honoArgs(port: number, servers: string): string[] {
  return run("hono.ts", `--lock=${servers}/../deno.lock`)(port, servers);
}
function reuse(port: number, servers: string): string[] {
  return [...run("groundwork.ts", "--unstable-net")(port, servers), "--reuse-port"];
}
const BEFORE = flags.values.before;
/** A server file run on the earlier mod.ts, which snapshot() puts in a folder of its own. */
function before(file: string): Launcher["args"] {
  return (port, servers) =>
    run(file)(port, servers.replace(/bench\/servers$/, "before/bench/servers"));
}
const SERVERS_ALL: Launcher[] = [
  { id: "raw", name: "raw Deno.serve", args: run("raw.ts") },
  // The least a server on Deno.listen can do (no checks at all): how far the own Server could ever get.
  { id: "floor", name: "floor: minimal Deno.listen server", args: run("floor.ts") },
  { id: "groundwork", name: "groundwork Server", args: run("groundwork.ts") },
  // The same, with V8's young generation capped at 4 MiB a half. Under load V8 grows it to its maximum (32 MiB a half
  // in Deno 2.9), because every scavenge finds each open connection's state alive (its pending read, its async
  // frames); Deno.serve keeps that state in Rust. It shows as peak RSS; a builder can pass this flag to `deno run`.
  {
    id: "tuned",
    name: "groundwork Server, 4 MiB semi-space",
    args: run("groundwork.ts", SEMI_SPACE),
  },
  { id: "fetch", name: "groundwork on Deno.serve", args: run("groundwork_fetch.ts") },
  // Hono's version is pinned by bench/deno.lock, which only this server uses (deno.json turns the lock file off, so
  // that nothing else needs the npm registry).
  { id: "hono", name: "Hono on Deno.serve", args: honoArgs },
  // The same two groundwork servers on the mod.ts of an earlier revision (--before), side by side.
  { id: "before", name: `groundwork Server at ${BEFORE}`, args: before("groundwork.ts") },
  {
    id: "before-fetch",
    name: `groundwork on Deno.serve at ${BEFORE}`,
    args: before("groundwork_fetch.ts"),
  },
];
const PICKED = flags.values.servers?.split(",");
const SERVERS = SERVERS_ALL.filter((s) =>
  (!PICKED || PICKED.includes(s.id)) && (BEFORE !== "" || !s.id.startsWith("before"))
);
const MULTICORE: Launcher[] = [
  { id: "serve1", name: "deno serve --parallel, DENO_JOBS=1", args: serve, jobs: "1" },
  { id: "serve2", name: "deno serve --parallel, DENO_JOBS=2", args: serve, jobs: "2" },
  { id: "reuse1", name: "groundwork Server, reusePort, 1 process", args: reuse, processes: 1 },
  { id: "reuse2", name: "groundwork Server, reusePort, 2 processes", args: reuse, processes: 2 },
];

/** A load for wrk: a path, a Lua script that shapes the requests, and extra wrk arguments. */
type Workload = {
  id: string;
  name: string;
  path: string;
  lua?: string;
  wrk?: string[];
  noP99?: boolean;
};

const POST_1K = `wrk.method = "POST"
wrk.body = string.rep("x", 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
`;
// As in TechEmpower's pipeline.lua: one write carries `depth` requests; wrk waits for all their answers. wrk's
// latency figures mean nothing here: its correction for coordinated omission assumes one request per round trip,
// and with 16 it adds samples below the minimum, so Debian's wrk 4.1 reports a p99 of 0 (or of noise). No p99, then.
const PIPELINE = `init = function(args)
  local r = {}
  for i = 1, tonumber(args[1]) do r[i] = wrk.format() end
  req = table.concat(r)
end
request = function() return req end
`;
// Every script ends with this: wrk hands us its summary as one JSON line instead of text meant for people.
const SUMMARY = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\n{"requests":%d,"us":%d,"p99":%d,"errors":%d}\\n', summary.requests, summary.duration,
    latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
`;
const WORKLOADS: Workload[] = [
  { id: "hello", name: "GET / (keep-alive)", path: "/" },
  { id: "json", name: "GET /json (keep-alive)", path: "/json" },
  { id: "users", name: "GET /users/42 (keep-alive)", path: "/users/42" },
  { id: "echo", name: "POST /echo 1 KiB (keep-alive)", path: "/echo", lua: POST_1K },
  { id: "close", name: "GET / (Connection: close)", path: "/", wrk: ["-H", "Connection: close"] },
  {
    id: "pipeline",
    name: `GET / (pipelined x${DEPTH})`,
    path: "/",
    lua: PIPELINE,
    wrk: ["--", `${DEPTH}`],
    noP99: true,
  },
];
const MULTICORE_WORKLOADS = WORKLOADS.filter((w) => w.id === "hello" || w.id === "users");

// ====================================================== Servers as subprocesses ====================================

type Running = {
  launcher: Launcher;
  port: number;
  children: Deno.ChildProcess[];
  stderr: Promise<string>[];
};

/** Starts a server's processes on a free port and resolves once each listens and the routes answer as they should. */
async function launch(launcher: Launcher, servers: string): Promise<Running> {
  const port = freePort(), children: Deno.ChildProcess[] = [], stderr: Promise<string>[] = [];
  const env: Record<string, string> = launcher.jobs ? { DENO_JOBS: launcher.jobs } : {};
  for (let i = 0; i < (launcher.processes ?? 1); i++) {
    const options = {
      args: launcher.args(port, servers),
      env,
      stdout: "null",
      stderr: "piped",
    } as const;
    const child = new Deno.Command(Deno.execPath(), options).spawn();
    children.push(child);
    stderr.push(new Response(child.stderr).text());
    await ready(child, stderr.at(-1)!, port, i + 1);
  }
  await verify(port, launcher.name);
  return { launcher, port, children, stderr };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  listener.close();
  return listener.addr.port;
}

/** Waits until `listeners` sockets listen on the port (one per reusePort process) and a request gets an answer. */
async function ready(
  child: Deno.ChildProcess,
  stderr: Promise<string>,
  port: number,
  listeners: number,
) {
  let exited = false;
  child.status.then(() => (exited = true));
  for (const until = Date.now() + 60_000; Date.now() < until;) { // the first run may download Hono from npm
    if (exited) throw new Error(`The server on port ${port} exited:\n${await stderr}`);
    if (
      listening(port) >= listeners &&
      (await ask(port, "GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"))
    ) {
      return;
    }
    await sleep(100);
  }
  throw new Error(`No answer on port ${port} within a minute`);
}

/** How many sockets listen on 127.0.0.1:port, from the kernel's own table (state 0A is LISTEN). */
function listening(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  return Deno.readTextFileSync("/proc/net/tcp").split("\n").filter((l) =>
    l.includes(`${local} 00000000:0000 0A`)
  )
    .length;
}

/** Sends one request on a new connection and returns all the server says until it closes ("" on any failure). */
async function ask(port: number, request: string): Promise<string> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const timer = setTimeout(() => conn.close(), 2000);
    try {
      await conn.write(new TextEncoder().encode(request));
      return await new Response(conn.readable).text(); // reading to the end closes the connection
    } finally {
      clearTimeout(timer);
    }
  } catch {
    return ""; // not listening yet, or reset: the caller tries again
  }
}

/** Checks that the server answers all four routes as the others do, so that all four do the same work. */
async function verify(port: number, name: string): Promise<void> {
  const checks: [string, string][] = [
    ["GET / HTTP/1.1\r\n", "Hello, World!"],
    ["GET /json HTTP/1.1\r\n", `{"message":"Hello, World!"}`],
    ["GET /users/42 HTTP/1.1\r\n", `{"id":"42"}`],
    ["POST /echo HTTP/1.1\r\ncontent-length: 4\r\n", "ping"],
  ];
  for (const [head, body] of checks) {
    const answer = await ask(
      port,
      `${head}host: x\r\nconnection: close\r\n\r\n${body === "ping" ? "ping" : ""}`,
    );
    if (!answer.startsWith("HTTP/1.1 200") || !answer.endsWith(`\r\n\r\n${body}`)) {
      throw new Error(`${name} answered ${JSON.stringify(head)} wrongly:\n${answer}`);
    }
  }
}

/** The peak resident memory (VmHWM) of the server's processes, summed, in MiB. */
function peakRss(running: Running): number {
  const kib = running.children.map((child) => {
    const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
    return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
  });
  return kib.reduce((a, b) => a + b, 0) / 1024;
}

async function stop(running: Running): Promise<void> {
  for (const child of running.children) {
    try {
      child.kill("SIGTERM");
    } catch { /* it has exited already */ }
    await child.status;
  }
  await Promise.all(running.stderr);
}

// ====================================================== Driving them with wrk ======================================

type Sample = { rps: number; p99ms: number; cpuUs: number; errors: number };

/**
 * One wrk run against a server: requests per second, the 99th-percentile latency, the server's CPU time per request
 * (all its threads and processes; less swayed by other load on the machine than req/s), and wrk's error count.
 */
async function drive(workload: Workload, server: Running, seconds: number): Promise<Sample> {
  const script = await Deno.makeTempFile({ prefix: "groundwork-bench-", suffix: ".lua" });
  try {
    await Deno.writeTextFile(script, (workload.lua ?? "") + SUMMARY);
    const [extra, after] = splitAt(workload.wrk ?? [], "--");
    const args = [
      `-t${THREADS}`,
      `-c${CONNECTIONS}`,
      `-d${seconds}s`,
      "--timeout",
      "2s",
      "-s",
      script,
      ...extra,
    ];
    const cpuBefore = cpuSeconds(server);
    const { stdout, stderr } = await new Deno.Command("wrk", {
      args: [...args, `http://127.0.0.1:${server.port}${workload.path}`, ...after],
    }).output();
    const cpu = cpuSeconds(server) - cpuBefore;
    const line = new TextDecoder().decode(stdout).split("\n").findLast((l) => l.startsWith("{"));
    if (!line) {
      throw new Error(
        `wrk said:\n${new TextDecoder().decode(stdout)}${new TextDecoder().decode(stderr)}`,
      );
    }
    const summary = JSON.parse(line) as {
      requests: number;
      us: number;
      p99: number;
      errors: number;
    };
    const p99ms = workload.noP99 ? NaN : summary.p99 / 1000;
    const cpuUs = summary.requests ? cpu * 1e6 / summary.requests : NaN;
    return { rps: summary.requests / (summary.us / 1e6), p99ms, cpuUs, errors: summary.errors };
  } finally {
    await Deno.remove(script);
  }
}

/** The CPU time (user + system) the server's processes have used so far, from /proc/<pid>/stat. */
function cpuSeconds(server: Running): number {
  return server.children.reduce((sum, child) => {
    const stat = Deno.readTextFileSync(`/proc/${child.pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // the name, in (), may hold spaces
    return sum + (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime and stime: fields 14 and 15
  }, 0);
}

function splitAt(args: string[], marker: string): [string[], string[]] {
  const at = args.indexOf(marker);
  return at < 0 ? [args, []] : [args.slice(0, at), args.slice(at)];
}

/** A row of the table: one server under one workload, medians over the rounds. */
type Row = {
  workload: Workload;
  launcher: Launcher;
  rps: number;
  p99ms: number;
  cpuUs: number;
  rssMiB: number;
  errors: number;
};

/** Starts the servers, warms each up, then drives them in turn for each round; stops them all, whatever happens. */
async function measure(workload: Workload, launchers: Launcher[], servers: string): Promise<Row[]> {
  const running: Running[] = [];
  try {
    for (const launcher of launchers) running.push(await launch(launcher, servers));
    for (const r of running) await drive(workload, r, WARMUP); // JIT-compiled and caches filled before we count
    const samples: Sample[][] = running.map(() => []);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [i, r] of running.entries()) {
        await sleep(250); // let the last run's closing connections settle
        const { rps, p99ms, cpuUs } =
          samples[i][samples[i].push(await drive(workload, r, DURATION)) - 1];
        progress(
          `  round ${round}/${ROUNDS} ${r.launcher.name}: ${fmt(rps, 0)} req/s, p99 ${
            fmt(p99ms, 2)
          } ms, ` +
            `${fmt(cpuUs, 1)} µs CPU/req`,
        );
      }
    }
    return running.map((r, i) => ({
      workload,
      launcher: r.launcher,
      rps: median(samples[i].map((s) => s.rps)),
      p99ms: median(samples[i].map((s) => s.p99ms)),
      cpuUs: median(samples[i].map((s) => s.cpuUs)),
      rssMiB: peakRss(r),
      errors: samples[i].reduce((sum, s) => sum + s.errors, 0),
    }));
  } finally {
    for (const r of running) await stop(r);
  }
}

// ====================================================== The report =================================================

function table(rows: Row[], baseline: (row: Row) => Row | undefined, vs: string): string {
  const lines = [
    `| Workload | Server | req/s | × ${vs} | p99 ms | × ${vs} | CPU µs/req | × ${vs} | peak RSS MiB | × ${vs} ` +
    "| errors |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  for (const row of rows) {
    const base = baseline(row);
    const ratio = (
      key: "rps" | "p99ms" | "cpuUs" | "rssMiB",
    ) => (base ? fmt(row[key] / base[key], 2) : "");
    const cells = [
      row.workload.name,
      row.launcher.name,
      fmt(row.rps, 0),
      ratio("rps"),
      fmt(row.p99ms, 2),
    ];
    cells.push(
      ratio("p99ms"),
      fmt(row.cpuUs, 1),
      ratio("cpuUs"),
      fmt(row.rssMiB, 1),
      ratio("rssMiB"),
      `${row.errors}`,
    );
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** A target of issue 4: server `a`'s figure over server `b`'s ("id@workload" takes another workload's row). */
type Target = {
  what: string;
  workload: string;
  a: string;
  b: string;
  key: "rps" | "rssMiB";
  bound: string;
};

function aim(
  what: string,
  [a, b, key]: [string, string, Target["key"]],
  bound: string,
  ids: string[],
): Target[] {
  return ids.map((workload) => ({ what, workload, a, b, key, bound }));
}
const ALL = WORKLOADS.map((w) => w.id),
  PIPE = ["pipeline"],
  VS_RAW = "groundwork Server / raw Deno.serve";
const TARGETS: Target[] = [
  ...aim(`${VS_RAW}, req/s`, ["groundwork", "raw", "rps"], ">= 0.9", ["hello", "json", "users"]),
  ...aim(`${VS_RAW}, req/s`, ["groundwork", "raw", "rps"], ">= 0.95", ["close"]),
  ...aim(`${VS_RAW}, req/s`, ["groundwork", "raw", "rps"], ">= 2", PIPE),
  ...aim(
    "groundwork Server / itself on GET / keep-alive",
    ["groundwork", "groundwork@hello", "rps"],
    ">= 2",
    PIPE,
  ),
  ...aim(
    "groundwork on Deno.serve / Hono on Deno.serve, req/s",
    ["fetch", "hono", "rps"],
    ">= 0.95",
    ALL,
  ),
  ...aim(`${VS_RAW}, peak RSS`, ["groundwork", "raw", "rssMiB"], "<= 1.5", ALL),
  ...aim(`same, with ${SEMI_SPACE}, req/s`, ["tuned", "raw", "rps"], ">= 0.9", [
    "hello",
    "json",
    "users",
  ]),
  ...aim(`same, with ${SEMI_SPACE}, peak RSS`, ["tuned", "raw", "rssMiB"], "<= 1.5", ALL),
  // Issue 11: the study-text rewrite keeps most of the speed of the code it replaced.
  ...aim(
    `groundwork Server / itself at ${BEFORE}, req/s`,
    ["groundwork", "before", "rps"],
    ">= 0.85",
    [
      "hello",
      "pipeline",
    ],
  ),
  ...aim(
    `groundwork on Deno.serve / itself at ${BEFORE}, req/s`,
    ["fetch", "before-fetch", "rps"],
    ">= 0.95",
    ALL,
  ),
];

/** The targets this run can judge, each with its measured ratio. */
function targets(rows: Row[]): string {
  const find = (workload: string, id: string) => {
    const [server, other] = id.split("@");
    return rows.find((r) => r.workload.id === (other ?? workload) && r.launcher.id === server);
  };
  const lines = TARGETS.flatMap((t) => {
    const [a, b] = [find(t.workload, t.a), find(t.workload, t.b)];
    if (!a || !b) return [];
    const value = a[t.key] / b[t.key], [op, limit] = t.bound.split(" ");
    const met = op === ">=" ? value >= Number(limit) : value <= Number(limit);
    return [
      `| ${t.what} | ${a.workload.name} | ${fmt(value, 2)} | ${t.bound} | ${
        met ? "met" : "**not met**"
      } |`,
    ];
  });
  return lines.length
    ? ["| Target | Workload | measured | goal | |", "|---|---|--:|--:|---|", ...lines].join("\n")
    : "";
}

/** How far from raw Deno.serve a server on Deno.listen can get at all, and where groundwork's own Server stands. */
function floor(rows: Row[]): string {
  const find = (workload: string, id: string) =>
    rows.find((r) => r.workload.id === workload && r.launcher.id === id);
  const lines = WORKLOADS.flatMap((w) => {
    const [raw, bottom, own] = ["raw", "floor", "groundwork"].map((id) => find(w.id, id));
    if (!raw || !bottom || !own) return [];
    const ratios = [bottom.rps / raw.rps, own.rps / bottom.rps, own.cpuUs - bottom.cpuUs].map((x) =>
      fmt(x, 2)
    );
    return [`| ${w.name} | ${ratios.join(" | ")} |`];
  });
  const head =
    "| Workload | floor / raw Deno.serve, req/s | groundwork Server / floor, req/s | CPU µs/req over the floor |";
  return lines.length ? [head, "|---|--:|--:|--:|", ...lines].join("\n") : "";
}

/**
 * Copies mod.ts and the servers (with deno.json and bench/deno.lock, so Hono resolves to the same version) to a
 * temporary folder, and returns the servers' folder there. mod.ts may change while the benchmark runs, e.g. an editor
 * saving it, and every workload starts its servers afresh: the copy makes them all measure the same code.
 */
async function snapshot(): Promise<
  { servers: string; sha256: string; remove: () => Promise<void> }
> {
  const root = await Deno.makeTempDir({ prefix: "groundwork-bench-" }), project = `${HERE}..`;
  await Deno.mkdir(`${root}/bench/servers`, { recursive: true });
  for (const file of ["mod.ts", "deno.json", "bench/deno.lock"]) {
    await Deno.copyFile(`${project}/${file}`, `${root}/${file}`).catch(() => {}); // a missing deno.lock is fine
  }
  for await (const entry of Deno.readDir(`${HERE}servers`)) {
    if (entry.name.endsWith(".ts")) {
      await Deno.copyFile(`${HERE}servers/${entry.name}`, `${root}/bench/servers/${entry.name}`);
    }
  }
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", await Deno.readFile(`${root}/mod.ts`)),
  );
  const sha256 = Array.from(digest.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
  if (BEFORE !== "") {
    // The earlier mod.ts, from git, with the same servers next to it (they import "../../mod.ts").
    await Deno.mkdir(`${root}/before/bench/servers`, { recursive: true });
    const show = await new Deno.Command("git", { args: ["-C", HERE, "show", `${BEFORE}:mod.ts`] })
      .output();
    if (!show.success) {
      throw new Error(`git show ${BEFORE}:mod.ts failed: use --before "" to skip it`);
    }
    await Deno.writeFile(`${root}/before/mod.ts`, show.stdout);
    for (const file of ["serve_app.ts", "groundwork.ts", "groundwork_fetch.ts"]) {
      await Deno.copyFile(`${HERE}servers/${file}`, `${root}/before/bench/servers/${file}`);
    }
  }
  return {
    servers: `${root}/bench/servers`,
    sha256,
    remove: () => Deno.remove(root, { recursive: true }),
  };
}

async function environment(sha256: string): Promise<string> {
  const text = async (cmd: string, ...args: string[]) =>
    new TextDecoder().decode((await new Deno.Command(cmd, { args }).output()).stdout).trim();
  const cpu = /^model name\s*:\s*(.*)$/m.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1] ??
    "unknown";
  const lock = await Deno.readTextFile(`${HERE}deno.lock`).then(JSON.parse).catch(() => ({}));
  const hono = lock.specifiers?.["npm:hono@4"] ?? "4 (npm:hono@4)";
  const git = await text("git", "-C", HERE, "log", "-1", "--format=%h").catch(() => "?");
  const dirty = await text("git", "-C", HERE, "status", "--porcelain", "../mod.ts").catch(() => "");
  return [
    `- Date: ${STARTED.toISOString()} (start of the run)`,
    `- Command: \`deno run -A bench/http.ts ${Deno.args.join(" ")}\``,
    `- \`deno --version\`: ${(await text(Deno.execPath(), "--version")).replaceAll("\n", "; ")}`,
    `- \`nproc\`: ${await text("nproc")}; CPU: ${cpu}; kernel ${await text(
      "uname",
      "-r",
    )}; load average at the ` +
    `start: ${LOAD_AT_START}`,
    `- mod.ts: sha256 ${sha256}..., git ${git}${
      dirty ? " plus uncommitted changes" : ""
    }, copied at the start`,
    `- Load: ${
      (await text("wrk", "--version").catch(() => "")).split("\n")[0].split(" Copyright")[0]
    }, ` +
    `\`-t${THREADS} -c${CONNECTIONS}\`, ${DURATION} s per run, rounds: ${ROUNDS} (median), ${WARMUP} s warm-up per ` +
    `server; the servers and wrk share the machine. Hono ${hono}.`,
  ].join("\n");
}

const HOW_TO_READ = `## How to read this

- **req/s** is the median over the rounds of requests answered per second; **p99** the median of each round's
  99th-percentile latency as wrk reports it (none for pipelining: see bench/http.ts); **CPU µs/req** the server's
  CPU time (user + system, all threads) per request, from /proc/<pid>/stat; **peak RSS** the server's VmHWM from
  /proc/<pid>/status after all its runs of that workload (summed over processes where there are several).
- The **× raw** columns divide by raw Deno.serve measured in the same run: for req/s higher is better; for p99, CPU
  and RSS lower is better. Compare ratios, not absolute numbers, between machines or runs.
- wrk runs on the same cores as the servers, so a server that needs less CPU also leaves more for wrk; and anything
  else running on the machine shifts req/s more than CPU µs/req. Runs are short: differences under about 5-10% are
  within noise; rerun with \`--duration 10 --rounds 5\` before trusting them.
- **errors** counts wrk's connect/read/write/timeout errors and non-2xx answers over all rounds; it should be 0.
- **groundwork Server, 4 MiB semi-space** is the same server run with \`deno run ${SEMI_SPACE}\`: V8 then keeps its
  young generation small. By default V8 grows it, up to 32 MiB a half in Deno 2.9, once the bytes that survive its
  scavenges add up to its size; with groundwork, each open connection's state (its pending read, its suspended async
  functions, about 2 KB) survives every scavenge, while Deno.serve keeps that state in Rust and nothing survives.`;

const FLOOR_NOTE =
  `The floor (bench/servers/floor.ts) answers the same four routes on Deno.listen with as little work as
a server can do: no checks, no limits, no timeouts, no objects per request, one reused output buffer. What separates
it from raw Deno.serve is the cost of serving from JavaScript at all; what separates groundwork's own Server from it
is groundwork's own work per request (checking the head, the Request and Response, routing, middleware, promises).`;

// ====================================================== Main =======================================================

function fmt(n: number, digits: number): string {
  if (Number.isNaN(n)) return "n/a";
  return n.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
function progress(line: string): void {
  console.error(line);
}

async function hasWrk(): Promise<boolean> {
  try {
    await new Deno.Command("wrk", { args: ["--version"], stdout: "null", stderr: "null" }).output();
    return true;
  } catch {
    return false; // NotFound: wrk is not on the PATH
  }
}

if (import.meta.main) {
  if (!(await hasWrk())) {
    console.error("wrk is needed to drive the servers; install it: apt-get install wrk");
    Deno.exit(1);
  }
  const unknown = ONLY?.filter((id) => id !== "multicore" && !WORKLOADS.some((w) => w.id === id));
  if (unknown?.length) {
    console.error(
      `Unknown --only ${unknown.join(",")}: use ${
        WORKLOADS.map((w) => w.id).join(", ")
      } or multicore`,
    );
    Deno.exit(2);
  }
  const wanted = (id: string) => !ONLY || ONLY.includes(id);
  const rows: Row[] = [],
    multicore: Row[] = [],
    copy = await snapshot(),
    env = await environment(copy.sha256);
  try {
    for (const workload of WORKLOADS.filter((w) => wanted(w.id))) {
      progress(`${workload.name}`);
      rows.push(...await measure(workload, SERVERS, copy.servers));
    }
    for (const workload of wanted("multicore") ? MULTICORE_WORKLOADS : []) {
      progress(`multi-core: ${workload.name}`);
      multicore.push(...await measure(workload, MULTICORE, copy.servers));
    }
  } finally {
    await copy.remove();
  }
  const raw = (row: Row) =>
    rows.find((r) => r.workload === row.workload && r.launcher.id === "raw");
  const single = (row: Row) =>
    // each two-worker setup against its own one-worker setup
    multicore.find((r) =>
      r.workload === row.workload && r.launcher.id === row.launcher.id.replace("2", "1")
    );
  const report = [
    "# groundwork benchmarks",
    "",
    env,
    "",
    HOW_TO_READ,
    ...(rows.length ? ["", "## HTTP: one server process each", "", table(rows, raw, "raw")] : []),
    ...(rows.length && targets(rows)
      ? ["", "### Against the targets of issue 4", "", targets(rows)]
      : []),
    ...(rows.length && floor(rows) ? ["", "### The floor", "", FLOOR_NOTE, "", floor(rows)] : []),
    ...(multicore.length
      ? [
        "",
        "## Multi-core",
        "",
        `\`deno serve --parallel\` with DENO_JOBS=1 and 2 (worker threads in one process), and groundwork's own ` +
        "Server with `reusePort: true` as 1 and 2 processes on one port. `reusePort` is an unstable Deno API: these " +
        "processes run with `--unstable-net` (without it, Deno.listen refuses the option). Ratios are to the " +
        `1-worker setup of the same kind. With ${navigator.hardwareConcurrency} cores shared with wrk, 2 workers ` +
        "can't double.",
        "",
        table(multicore, single, "1 worker"),
      ]
      : []),
    "",
  ].join("\n");
  console.log(report);
  await Deno.writeTextFile(RESULTS, report);
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", RESULTS] }).output(); // for `deno fmt --check`
  progress(`Written to ${RESULTS}`);
}
