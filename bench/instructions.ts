// Instructions per request, today's mod.ts against an earlier one, counted by valgrind: a figure
// that the machine's load does not move. It is not exact, though: run again, Deno.serve's `GET /`
// agreed within 0.1%, but its `/json` moved by 9% and the own Server's rows by up to 5% (V8's
// work depends on when its timers and GC run). Trust a difference of 10% or more.
//
// Each server runs under `valgrind --tool=cachegrind --cache-sim=no`, with V8 on one thread
// (--single-threaded: no compiler or GC threads whose timing would change the count), driven by
// one wrk connection, one request after another, and exits after a given number of requests
// (bench/servers/counted.ts). It runs twice, for 2,000 and for 32,000 requests: the difference,
// over 30,000, is what a request costs once the JIT has warmed up, without the start-up.
//
// Instructions are not time. A cache miss costs no instruction, so code that runs fewer may
// still take longer (bench/before.ts measures CPU time); but a change that runs many fewer
// instructions does less work. Needs valgrind (`apt-get install valgrind`); takes 5-10 minutes.
import { parseArgs } from "node:util";
import { earlierMod, gitState, writeReport } from "./shared.ts";

const flags = parseArgs({
  args: Deno.args,
  options: {
    before: { type: "string", default: "95922be" },
    paths: { type: "string", default: "/,/json,/users/42" },
    on: { type: "string", default: "fetch,own" },
    out: { type: "string" },
  },
});
const BEFORE = flags.values.before;
const HERE = new URL(".", import.meta.url).pathname;
const OUT = flags.values.out ?? `${HERE}INSTRUCTIONS.md`;
const FEW = 2_000;
const MANY = 32_000;
// valgrind runs a program about 50 times slower: a run that takes longer than this is stuck.
const DEADLINE_MS = 600_000;

async function folder(mod: Uint8Array): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "groundwork-instructions-" });
  await Deno.mkdir(`${dir}/bench/servers`, { recursive: true });
  await Deno.writeFile(`${dir}/mod.ts`, mod);
  for (const file of ["serve_app.ts", "counted.ts"]) {
    await Deno.copyFile(`${HERE}servers/${file}`, `${dir}/bench/servers/${file}`);
  }
  return dir;
}

/** The instructions a server runs to start, answer `requests` requests on `path`, and exit. */
async function count(dir: string, on: string, path: string, requests: number, port: number) {
  const valgrind = new Deno.Command("valgrind", {
    args: [
      "--tool=cachegrind",
      "--cache-sim=no",
      "--cachegrind-out-file=/dev/null",
      Deno.execPath(),
      "run",
      "-A",
      "--v8-flags=--single-threaded",
      `${dir}/bench/servers/counted.ts`,
      ...["--port", String(port), "--requests", String(requests), "--on", on],
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => valgrind.kill("SIGKILL"), DEADLINE_MS);
  const stderr = valgrind.output();
  let wrk: Deno.ChildProcess | undefined;
  try {
    // Until the server listens; the probe's request is counted in both runs, so it cancels out.
    const ready = Date.now() + 120_000;
    while (Date.now() < ready) {
      const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) })
        .catch(() => null);
      if (res !== null) {
        await res.body?.cancel();
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const url = `http://127.0.0.1:${port}${path}`;
    wrk = new Deno.Command("wrk", { args: ["-t1", "-c1", "-d600s", url], stdout: "null" })
      .spawn();
    const out = await stderr;
    const text = new TextDecoder().decode(out.stderr);
    const refs = /I\s+refs:\s+([\d,]+)/.exec(text)?.[1];
    if (refs === undefined) throw new Error(`valgrind gave no count:\n${text.slice(-2000)}`);
    return Number(refs.replaceAll(",", ""));
  } finally {
    clearTimeout(timer);
    try {
      wrk?.kill("SIGKILL");
    } catch {
      // already gone
    }
    await wrk?.status;
  }
}

const dirs = {
  today: await folder(await Deno.readFile(`${HERE}../mod.ts`)),
  before: await folder(await earlierMod(BEFORE)),
};
const lines: string[] = [];
let port = 9500;
try {
  for (const on of flags.values.on.split(",")) {
    for (const path of flags.values.paths.split(",")) {
      const perRequest: Record<string, number> = {};
      for (const [which, dir] of Object.entries(dirs)) {
        const few = await count(dir, on, path, FEW, port++);
        const many = await count(dir, on, path, MANY, port++);
        perRequest[which] = (many - few) / (MANY - FEW);
      }
      const server = on === "own" ? "own Server" : "Deno.serve(app.fetch)";
      const ratio = perRequest.today / perRequest.before;
      const counts = [perRequest.today, perRequest.before].map((n) => Math.round(n));
      const cells = [`${server}, GET ${path}`, ...counts.map((n) => n.toLocaleString("en"))];
      lines.push(`| ${cells.join(" | ")} | ${ratio.toFixed(3)} |`);
      console.error(lines.at(-1));
    }
  }
} finally {
  for (const dir of Object.values(dirs)) await Deno.remove(dir, { recursive: true });
}
const { commit: git, dirty } = await gitState();
const report = [
  `# Instructions per request: today's mod.ts against ${BEFORE}`,
  "",
  `- Date: ${new Date().toISOString()}; today's mod.ts: git ${git}${dirty ? " plus changes" : ""}`,
  `- Command: \`deno run -A bench/instructions.ts ${Deno.args.join(" ")}\``,
  `- Each figure: (instructions for ${MANY} requests - for ${FEW}) / ${MANY - FEW}, under`,
  "  `valgrind --tool=cachegrind --cache-sim=no`, V8 single-threaded, one wrk connection.",
  "",
  `| Row | today | ${BEFORE} | today / ${BEFORE} |`,
  "| --- | ---: | ---: | ---: |",
  ...lines,
  "",
].join("\n");
await writeReport(OUT, report);
