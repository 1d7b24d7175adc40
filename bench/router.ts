// The router micro-benchmark (issue 4): how long Router.match takes with 10, 100 and 1,000 routes.
//   deno run -A bench/router.ts [--runs 7] [--iterations 200000]
//
// Each table has routes "/r0/items" ... "/r{n-1}/items" (static) or "/r{i}/items/:id" (with a param), and we match
// one near the end, the last added, so that a router that tries routes in order pays for all of them. Timing is a
// plain loop around performance.now() rather than Deno.bench, so the numbers are ours to read: the median over the
// runs of the time per match, the runs of all the cases interleaved so that drift hits each alike.
// The results go to the terminal and into bench/RESULTS.md, replacing an earlier "## Router" section.
import { parseArgs } from "node:util";
import { Router } from "../mod.ts";

const flags = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "7" },
    iterations: { type: "string", default: "200000" },
  },
});
const RUNS = Number(flags.values.runs), ITERATIONS = Number(flags.values.iterations);
const SIZES = [10, 100, 1000];
const RESULTS = new URL("RESULTS.md", import.meta.url).pathname,
  MOD = new URL("../mod.ts", import.meta.url);

type Case = { size: number; kind: "static" | "param"; router: Router<number>; path: string };

function makeCase(size: number, kind: "static" | "param"): Case {
  const router = new Router<number>();
  for (let i = 0; i < size; i++) {
    router.add("GET", kind === "static" ? `/r${i}/items` : `/r${i}/items/:id`, i);
  }
  const path = kind === "static" ? `/r${size - 1}/items` : `/r${size - 1}/items/42`;
  if (router.match("GET", path)?.value !== size - 1) {
    throw new Error(`The router did not find ${path}`);
  }
  return { size, kind, router, path };
}

/** Nanoseconds per match over one timed loop. The sum keeps the JIT from dropping matches whose result is unused. */
function time({ router, path }: Case): number {
  let sum = 0;
  const start = performance.now();
  for (let i = 0; i < ITERATIONS; i++) sum += router.match("GET", path)!.value;
  const ns = (performance.now() - start) * 1e6 / ITERATIONS;
  if (sum < 0) console.log(sum); // never true; it only makes `sum` observable
  return ns;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** mod.ts's SHA-256, shortened, to tell which version was measured (http.ts prints the same). */
async function fingerprint(): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(MOD)));
  return Array.from(digest.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
}

if (import.meta.main) {
  const sha256 = await fingerprint(); // mod.ts as imported a moment ago
  const cases = SIZES.flatMap((size) => [makeCase(size, "static"), makeCase(size, "param")]);
  for (const c of cases) time(c); // warm-up: compiled and inline caches settled before we count
  const samples = cases.map(() => [] as number[]);
  for (let run = 0; run < RUNS; run++) cases.forEach((c, i) => samples[i].push(time(c)));
  const ns = (size: number, kind: string) =>
    median(samples[cases.findIndex((c) => c.size === size && c.kind === kind)]);
  const ratios = [ns(1000, "static") / ns(10, "static"), ns(1000, "param") / ns(10, "param")];
  const f = (n: number) => n.toFixed(1),
    runs = `${RUNS} runs of ${ITERATIONS.toLocaleString("en-US")} matches each`;
  const lines = [
    "## Router",
    "",
    `\`Router.match("GET", path)\` for the last of n routes, the median of ${runs}; mod.ts sha256 ${sha256}..., ` +
    `deno ${Deno.version.deno}, ${new Date().toISOString()}.`,
    "",
    "| Routes | static `/r{i}/items` ns/op | with a param `/r{i}/items/:id` ns/op |",
    "|--:|--:|--:|",
    ...SIZES.map((size) =>
      `| ${size.toLocaleString("en-US")} | ${f(ns(size, "static"))} | ${f(ns(size, "param"))} |`
    ),
    `| **1,000 / 10** | **${ratios[0].toFixed(2)}×** | **${ratios[1].toFixed(2)}×** |`,
    "",
    "Target of issue 4: routing among 1,000 routes costs at most 2× routing among 10: " +
    (ratios.every((r) => r <= 2) ? "met." : "**not met**."),
    "",
  ];
  const report = lines.join("\n");
  console.log(report);
  const before = await Deno.readTextFile(RESULTS).catch(() => "# groundwork benchmarks\n\n");
  const at = before.indexOf("## Router");
  await Deno.writeTextFile(
    RESULTS,
    (at < 0 ? before.trimEnd() + "\n\n" : before.slice(0, at)) + report,
  );
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", RESULTS] }).output(); // for `deno fmt --check`
  console.error(`Written to ${RESULTS}`);
}
