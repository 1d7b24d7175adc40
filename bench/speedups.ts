// The speed-ups kept in mod.ts, each measured against mod.ts without it (STYLE.md rule 9: a speed-up
// stays only if it is plain code and buys at least 5%).
//   deno run -A bench/speedups.ts [--rounds 9] [--duration 2]           (part of `deno task bench`)
//
// For each speed-up, the script makes a copy of mod.ts with it taken out (a text replacement: if
// mod.ts no longer holds the text, it stops and says which speed-up to update), runs each copy as a
// server beside mod.ts itself and a second copy of it (whose difference from the first is the
// noise), and drives them in turn with wrk, the rounds interleaved. The server runs on one core and
// wrk on the other (taskset), which keeps them from trading places. The figure is CPU time per
// request, the median over the rounds: a server that does less work uses less of it. The results
// replace an earlier "## Speed-ups" section of bench/RESULTS.md.
import { parseArgs } from "node:util";
import { PIPELINE_16 } from "./shared.ts";

const flags = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string", default: "9" }, duration: { type: "string", default: "2" } },
});
const ROUNDS = Number(flags.values.rounds);
const DURATION = flags.values.duration;
const HERE = new URL(".", import.meta.url).pathname;
const RESULTS = `${HERE}RESULTS.md`;
const MOD = await Deno.readTextFile(`${HERE}../mod.ts`);

/** A speed-up: what it is, the workload that shows it, and the text that takes it out of mod.ts. */
type SpeedUp = {
  name: string;
  server: "groundwork.ts" | "groundwork_fetch.ts";
  path: string;
  pipeline?: boolean;
  without: [string, string][];
};

const SPEED_UPS: SpeedUp[] = [
  {
    name: "a Request's Headers made only when asked for",
    server: "groundwork.ts",
    path: "/",
    pipeline: true,
    without: [[
      "    this.url = url instanceof URL ? url : new URL(url);",
      "    this.#headers = new Headers(init.headers);\n    this.url = url instanceof URL ? url : new URL(url);",
    ]],
  },
  {
    name: "a Response's Headers made only when asked for",
    server: "groundwork.ts",
    path: "/",
    pipeline: true,
    without: [[
      "    if (init.headers !== undefined) this.#headers = new Headers(init.headers);",
      "    this.#headers = new Headers(init.headers);",
    ]],
  },
  {
    name: "text encoded straight into the write buffer (encodeInto)",
    server: "groundwork.ts",
    path: "/",
    pipeline: true,
    without: [[
      `    if (typeof data === "string") {
      this.owedBytes += encoder.encodeInto(data, this.#owed.subarray(this.owedBytes)).written;
    } else {
      this.#owed.set(data, this.owedBytes);
      this.owedBytes += data.length;
    }`,
      `    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    this.#owed.set(bytes, this.owedBytes);
    this.owedBytes += bytes.length;`,
    ]],
  },
  {
    name: "ASCII text written with its head, in one piece",
    server: "groundwork.ts",
    path: "/",
    pipeline: true,
    without: [[
      `  const ascii = typeof res.body === "string" && /^[\\0-\\x7f]*$/.test(res.body);`,
      "  const ascii = false;",
    ]],
  },
  {
    name: "the Date field made by the sweeper, not for each answer",
    server: "groundwork.ts",
    path: "/",
    pipeline: true,
    without: [[
      "  head += `date: ${dateField}\\r\\n`;",
      "  head += `date: ${new Date().toUTCString()}\\r\\n`;",
    ]],
  },
  {
    name: "an empty line taken without decoding it",
    server: "groundwork.ts",
    path: "/",
    pipeline: true,
    without: [[
      "    const empty = lf - 1 === this.#start;",
      "    const empty = false;",
    ]],
  },
  {
    name: "pipelined answers sent together, before the next read",
    server: "groundwork.ts",
    path: "/",
    pipeline: true,
    without: [[
      "  if (c.owedBytes > FLUSH_AT_BYTES) await c.flush();\n  return { bytes: body?.length ?? 0, keepAlive };",
      "  await c.flush();\n  return { bytes: body?.length ?? 0, keepAlive };",
    ]],
  },
];

type Server = { name: string; port: number; child: Deno.ChildProcess; cpu: number[] };

/** Starts mod.ts's text `source` as a server on `port`, in a folder of its own. */
async function start(name: string, source: string, file: string, port: number): Promise<Server> {
  const dir = await Deno.makeTempDir({ prefix: "groundwork-speedup-" });
  await Deno.mkdir(`${dir}/bench/servers`, { recursive: true });
  await Deno.writeTextFile(`${dir}/mod.ts`, source);
  for (const server of ["serve_app.ts", file]) {
    await Deno.copyFile(`${HERE}servers/${server}`, `${dir}/bench/servers/${server}`);
  }
  const args = ["-c", "0", Deno.execPath(), "run", "-A", `${dir}/bench/servers/${file}`];
  const child = new Deno.Command("taskset", {
    args: [...args, "--port", String(port)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  return { name, port, child, cpu: [] };
}

/** The server's CPU seconds so far, user and system, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Drives a server with wrk for `seconds`; its CPU µs per request. */
async function drive(s: Server, path: string, pipeline: boolean, seconds: string): Promise<number> {
  const script = await Deno.makeTempFile({ suffix: ".lua" });
  await Deno.writeTextFile(script, pipeline ? PIPELINE_16 : "");
  const before = cpuSeconds(s.child.pid);
  const wrk = ["-c", "1", "wrk", "-t1", "-c64", `-d${seconds}s`, "-s", script];
  const out = await new Deno.Command("taskset", {
    args: [...wrk, `http://127.0.0.1:${s.port}${path}`],
  }).output();
  const cpu = cpuSeconds(s.child.pid) - before;
  await Deno.remove(script);
  const requests = Number(/(\d+) requests in/.exec(new TextDecoder().decode(out.stdout))?.[1]);
  if (!(requests > 0)) throw new Error(`wrk got no answers from ${s.name}`);
  return (cpu / requests) * 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Measures one speed-up: mod.ts, mod.ts again, and mod.ts without it, in interleaved rounds. */
async function measure(speedUp: SpeedUp, port: number): Promise<string> {
  let without = MOD;
  for (const [text, replacement] of speedUp.without) {
    if (!without.includes(text)) {
      throw new Error(
        `mod.ts no longer holds this text of "${speedUp.name}": update bench/speedups.ts`,
      );
    }
    without = without.replace(text, replacement);
  }
  const servers = [
    await start("mod.ts", MOD, speedUp.server, port),
    await start("mod.ts again", MOD, speedUp.server, port + 1),
    await start("without it", without, speedUp.server, port + 2),
  ];
  try {
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const pipeline = speedUp.pipeline ?? false;
    for (const s of servers) await drive(s, speedUp.path, pipeline, "1");
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      for (const s of order) s.cpu.push(await drive(s, speedUp.path, pipeline, DURATION));
    }
  } finally {
    for (const s of servers) {
      s.child.kill("SIGKILL");
      await s.child.status;
    }
  }
  const [mod, again, withoutIt] = servers.map((s) => median(s.cpu));
  const workload = `${speedUp.path}${speedUp.pipeline ? " pipelined x16" : ""}`;
  const server = speedUp.server === "groundwork.ts" ? "own Server" : "Deno.serve";
  const gain = `${((withoutIt / mod - 1) * 100).toFixed(0)}%`;
  const noise = `${(Math.abs(again / mod - 1) * 100).toFixed(0)}%`;
  const cells = [
    speedUp.name,
    `${server}, ${workload}`,
    mod.toFixed(2),
    withoutIt.toFixed(2),
    gain,
  ];
  return `| ${[...cells, noise].join(" | ")} |`;
}

const rows: string[] = [];
for (const [i, speedUp] of SPEED_UPS.entries()) {
  console.error(`speed-up ${i + 1}/${SPEED_UPS.length}: ${speedUp.name}`);
  rows.push(await measure(speedUp, 9400 + 10 * i));
  console.error(rows.at(-1));
}
const section = [
  "## Speed-ups in mod.ts, each against mod.ts without it",
  "",
  "CPU µs per request, the median of " +
  `${ROUNDS} interleaved rounds of ${DURATION} s (bench/speedups.ts: the server on one core, wrk on the ` +
  'other). "Without it" is mod.ts with that speed-up alone taken out; "noise" is how far a second ' +
  "copy of mod.ts itself came from the first, in the same run: a gain under it means nothing.",
  "",
  "| Speed-up | Workload | mod.ts | without it | it saves | noise |",
  "|---|---|--:|--:|--:|--:|",
  ...rows,
].join("\n");
const before = await Deno.readTextFile(RESULTS).catch(() => "# groundwork benchmarks\n\n");
const start_ = before.indexOf("## Speed-ups");
const kept = start_ === -1 ? before : before.slice(0, start_) + before.slice(
  before.indexOf("\n## ", start_ + 1) === -1
    ? before.length
    : before.indexOf("\n## ", start_ + 1) + 1,
);
await Deno.writeTextFile(RESULTS, kept.trimEnd() + "\n\n" + section + "\n");
await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", RESULTS] }).output();
console.error(`Written to ${RESULTS}`);
