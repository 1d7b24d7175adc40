/**
 * groundwork's mutation fuzzer:
 * `deno task fuzz [--seed N] [--count N] [--concurrency N] [--index N] [--known-bugs]`.
 *
 * It mutates valid requests (and a few known smuggling attempts), sends each on a connection of its
 * own to groundwork's Server running in this process, and checks every answer against the criteria
 * in `fuzz/run.ts`. The same seed always makes the same inputs: a violation's reproducer is the seed
 * and the input's number, which `--index N` replays alone, printing what went and what came back.
 * `--known-bugs` makes the mutations that trip bugs already reported too. It exits with 1 if any
 * criterion failed.
 * @module
 */
import { formatReport, fuzz, showBytes } from "./run.ts";

/** The number after `--name` on the command line, or `fallback`. */
function flag(name: string, fallback: number): number {
  const at = Deno.args.indexOf(`--${name}`);
  if (at === -1) return fallback;
  const value = Number(Deno.args[at + 1]);
  if (!Number.isInteger(value) || value < 0) {
    console.log(`--${name} takes a whole number, not ${JSON.stringify(Deno.args[at + 1])}`);
    Deno.exit(2);
  }
  return value;
}

const seed = flag("seed", crypto.getRandomValues(new Uint32Array(1))[0]);
const index = flag("index", -1);
const count = index === -1 ? flag("count", 100_000) : 1;
const concurrency = flag("concurrency", 64);
const knownBugs = Deno.args.includes("--known-bugs");
console.log(`seed ${seed}${index === -1 ? `, ${count} inputs` : `, input ${index} alone`}`);

const report = await fuzz({
  seed,
  count,
  first: index === -1 ? 0 : index,
  concurrency,
  knownBugs,
  progress: (done) => Deno.stdout.writeSync(new TextEncoder().encode(`\r${done} inputs done`)),
  onInput: index === -1 ? undefined : (input, framing, received, ending) => {
    console.log(`made from: ${input.seed}; ${input.mutations.join(", ") || "unchanged"}`);
    console.log(`sent: ${showBytes(input.text)}`);
    console.log(`writes start at: ${[0, ...input.writes.map((w) => w.at)].join(", ")}`);
    console.log(`a strict reader sees: ${JSON.stringify(framing)}`);
    console.log(`received: ${showBytes(received)}`);
    console.log(`ended: ${ending}`);
  },
});
console.log(`\n${formatReport(report)}`);
Deno.exit(Object.values(report.failed).some((n) => n > 0) ? 1 : 0);
