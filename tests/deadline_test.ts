// The rule that keeps the suite from hanging, checked: no test waits on a server, a fetch or a process without a
// deadline. This reads the test files as text, the way a reviewer would grep them. What a grep can't judge (a read
// on a socket, say) is left to review, and to the helpers: Client, raw(), within(), which bound their waits.
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "./run_example.ts";

const TESTS = join(ROOT, "tests");

/** One line of a test file, with where it is. */
type Line = { at: string; text: string };

/** A line that is all comment: what it says is not code. */
const COMMENT = /^(\/\/|\/\*|\*)/;

/** The code lines of every .ts file in tests/, but this one's: it names the patterns it looks for. */
async function testFiles(): Promise<Map<string, Line[]>> {
  const files = new Map<string, Line[]>();
  for await (const entry of Deno.readDir(TESTS)) {
    if (!entry.name.endsWith(".ts") || entry.name === "deadline_test.ts") continue;
    const text = await Deno.readTextFile(join(TESTS, entry.name));
    const lines = text.split("\n").map((line, i) => ({
      at: `tests/${entry.name}:${i + 1}`,
      text: line.trim(),
    }));
    files.set(entry.name, lines.filter((line) => !COMMENT.test(line.text)));
  }
  return files;
}

/** The lines, in all the files, that match `pattern`, as "tests/file.ts:line: text". */
function matching(files: Map<string, Line[]>, pattern: RegExp): string[] {
  const found: string[] = [];
  for (const lines of files.values()) {
    for (const line of lines) if (pattern.test(line.text)) found.push(`${line.at}: ${line.text}`);
  }
  return found;
}

/** A call of a function named fetch: not a method (`app.fetch(`), not the helper's own definition. */
const FETCH_CALL = /(?<![\w.]|function )fetch\(/;

/** The import of helpers.ts's fetch, which has a deadline. */
const FETCH_IMPORT = /^import \{[^}]*\bfetch\b[^}]*\} from "\.\/helpers\.ts";$/;

Deno.test("every fetch() in the tests is helpers.ts's, which gives up after a deadline and names the URL", async () => {
  const bare: string[] = [];
  for (const [name, lines] of await testFiles()) {
    if (lines.some((line) => FETCH_IMPORT.test(line.text))) continue;
    bare.push(...matching(new Map([[name, lines]]), FETCH_CALL));
  }
  assert.deepEqual(
    bare,
    [],
    'the global fetch waits as long as the server makes it: import { fetch } from "./helpers.ts"',
  );
});

Deno.test("no test runs a command with Deno.Command's output(), which waits as long as the command runs", async () => {
  const unbounded = matching(await testFiles(), /\.output\(\)/);
  assert.deepEqual(
    unbounded,
    [],
    "runCommand() in run_example.ts has a deadline, and says which command missed it",
  );
});

Deno.test("no test awaits a child process's status with no deadline", async () => {
  const unbounded = matching(await testFiles(), /\bawait\s+\(?[\w.]+\.status\b/);
  assert.deepEqual(
    unbounded,
    [],
    "exitWithin() and stopProcess() in run_example.ts wait a bounded time",
  );
});

Deno.test("every file that spawns a process stops it with stopProcess(): SIGTERM, a grace period, then SIGKILL", async () => {
  const unstopped: string[] = [];
  for (const [name, lines] of await testFiles()) {
    const spawns = lines.some((line) => line.text.includes(".spawn()"));
    const stops = lines.some((line) => line.text.includes("stopProcess("));
    if (spawns && !stops) unstopped.push(`tests/${name}`);
  }
  assert.deepEqual(unstopped, []);
});
