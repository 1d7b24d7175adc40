// The exercises (exercises/README.md), checked: each tester fails on its starter and passes on its
// reference solution, and groundwork's own server passes every stage's tester. The testers run in
// this process; each server they test is a child process, which the tester stops (stopProcess).
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  describe,
  EXERCISES,
  Mismatch,
  type Outcome,
  picture,
  runExercise,
  starter,
} from "../exercises/tester.ts";
import { codeLines, columns, meanCodeLength } from "../lint/count.ts";
import plugin from "../lint/study.ts";
import { ROOT, runCommand } from "./run_example.ts";

/** How many testers run at once: each has a server of its own, and this machine two cores. */
const AT_ONCE = 4;

/** The numbers of the exercises, from 1; the stages, which build a server, are 1 to 8. */
const NUMBERS = EXERCISES.map((_, i) => i + 1);
const STAGES = NUMBERS.slice(0, 8);
const PLANTED_BUG = 12;

// The testers that wait longest (on time limits, and on a rate limit's window) start first, so
// that the others run beside them.
const SLOWEST_FIRST = [7, 11];

/** Runs the jobs, at most `width` at a time. */
async function inPool<T>(jobs: (() => Promise<T>)[], width: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return results;
}

/** A file of the project, by its path from the root. */
const path = (file: string) => join(ROOT, file);

/** Runs exercise `number`'s tester on `file`; the outcome, and what it printed, as one text. */
async function run(number: number, file: string, failFast = false) {
  const outcome: Outcome = await runExercise(number, path(file), { failFast });
  return { number, file, outcome, printed: outcome.output.join("\n") };
}

/** Runs the testers on the files, as pairs [exercise, file], the slowest first. */
function runAll(runs: [number, string][], failFast = false) {
  const slow = runs.filter(([number]) => SLOWEST_FIRST.includes(number));
  const rest = runs.filter(([number]) => !SLOWEST_FIRST.includes(number));
  const jobs = [...slow, ...rest].map(([number, file]) => () => run(number, file, failFast));
  return inPool(jobs, AT_ONCE);
}

/** A reference solution's path. */
const solution = (number: number) => `exercises/${EXERCISES[number - 1]}/solution.ts`;

Deno.test("each exercise's tester fails on its starter, whose server starts and listens", async () => {
  const runs = await runAll(NUMBERS.map((number) => [number, starter(number)]), true);
  for (const { number, outcome, printed } of runs) {
    assert.ok(outcome.failed > 0, `exercise ${number}'s starter passed:\n${printed}`);
    assert.ok(
      !printed.includes("FAIL  starts"),
      `exercise ${number}'s starter did not start:\n${printed}`,
    );
  }
});

Deno.test("each exercise's tester passes on its reference solution", async () => {
  const runs = await runAll(NUMBERS.map((number) => [number, solution(number)]));
  for (const { number, outcome, printed } of runs) {
    assert.equal(outcome.failed, 0, `exercise ${number}'s solution failed:\n${printed}`);
  }
});

Deno.test("groundwork's own server passes every stage's tester, and the planted bug's", async () => {
  const runs = await runAll(
    [...STAGES, PLANTED_BUG].map((number) => [number, "exercises/groundwork_server.ts"]),
  );
  for (const { number, outcome, printed } of runs) {
    assert.equal(outcome.failed, 0, `groundwork failed exercise ${number}:\n${printed}`);
  }
});

Deno.test("each stage's solution passes the testers of the stages before it: each builds on the last", async () => {
  const runs = await runAll(
    STAGES.flatMap((stage) =>
      STAGES.filter((earlier) => earlier < stage).map((earlier) =>
        [earlier, solution(stage)] as [number, string]
      )
    ),
  );
  for (const { number, file, outcome, printed } of runs) {
    assert.equal(outcome.failed, 0, `${file} failed stage ${number}:\n${printed}`);
  }
});

// ---------------------------------------------------------------- what a failed check prints

const encoder = new TextEncoder();

/** A mismatch in `got` at byte `at`, after `sent` went in one write. */
function mismatch(sent: string, got: string | Uint8Array, at: number, note: string): Mismatch {
  const bytes = typeof got === "string" ? encoder.encode(got) : got;
  return new Mismatch("What went wrong.", encoder.encode(sent), 1, bytes, at, note, "open");
}

Deno.test("a failed check prints the bytes sent and got, \\r\\n shown, one wire line a line, a caret under the wrong byte", () => {
  const sent = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  const got = "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";
  assert.deepEqual(describe(mismatch(sent, got, 9, 'expected "200 "'), "Why it matters."), [
    "What went wrong.",
    "Why it matters.",
    "sent: GET / HTTP/1.1\\r\\n",
    "      Host: x\\r\\n",
    "      \\r\\n",
    "got: HTTP/1.1 404 Not Found\\r\\n",
    '              ^ expected "200 "',
    "     content-length: 0\\r\\n",
    "     \\r\\n",
  ]);
});

Deno.test("the caret stays under its byte after escapes: \\x00 takes four columns, \\t two", () => {
  const [line, caret] = picture("got: ", Uint8Array.from([97, 0, 9, 98]), { at: 3, note: "here" });
  assert.equal(line, "got: a\\x00\\tb");
  assert.equal(caret, "            ^ here");
  assert.equal(line[caret.indexOf("^")], "b");
});

Deno.test("a line too long to show is cut around the caret, which stays under its byte", () => {
  const digits = "0123456789".repeat(60);
  const bytes = encoder.encode(digits.slice(0, 250) + "X" + digits.slice(251));
  const [line, caret] = picture("got: ", bytes, { at: 250, note: "here" });
  assert.ok(line.length < digits.length, "the line is cut");
  assert.match(line, /^got: …/);
  assert.match(line, /… \(\d+ more bytes on this line\)$/);
  assert.equal(line[caret.indexOf("^")], "X");
});

Deno.test("a picture of nothing says so, and its caret points at where the bytes should be", () => {
  assert.deepEqual(picture("got: ", new Uint8Array(0), { at: 0, note: "expected an answer" }), [
    "got: (nothing)",
    "     ^ expected an answer",
  ]);
});

// ---------------------------------------------------------------- the command, and exercise 12

Deno.test("`deno task exercise 12` runs the tester on the starter: a line per check, the caret, exit code 1", async () => {
  const { code, stdout } = await runCommand(Deno.execPath(), ["task", "exercise", "12"], {
    cwd: ROOT,
  });
  assert.equal(code, 1, stdout);
  const lines = stdout.split("\n");
  assert.equal(lines[0], `Exercise 12, find the planted parser bug: ${starter(PLANTED_BUG)}`);
  assert.equal(lines.filter((line) => /^ {2}(PASS|FAIL) {2}/.test(line)).length, 10, stdout);
  assert.ok(lines.includes("  FAIL  refuses two different Content-Lengths with 400"), stdout);
  const got = lines.indexOf("        got: HTTP/1.1 200 OK\\r\\n");
  assert.equal(lines[got + 1], '                      ^ expected "400 "', stdout);
  assert.equal(lines.at(-2), "9 of 10 checks passed.");
});

/** A file's lines after the comment lines at its top. */
async function codeOf(file: string): Promise<string[]> {
  const lines = (await Deno.readTextFile(path(file))).split("\n");
  return lines.slice(lines.findIndex((line) => !line.startsWith("//")));
}

Deno.test("exercise 12's planted bug is one small change: its starter is stage 6's solution but for two lines", async () => {
  const planted = await codeOf(starter(PLANTED_BUG));
  const fixed = await codeOf(solution(6));
  assert.equal(planted.length, fixed.length);
  const changed = planted.filter((line, i) => line !== fixed[i]);
  assert.equal(changed.length, 2, `the lines that differ:\n${changed.join("\n")}`);
});

// ---------------------------------------------------------------- the solutions' style

/** STYLE.md's measures for mod.ts: columns per line, and the mean length of a code line. */
const MAX_COLUMNS = 100;
const MAX_MEAN_CODE_LINE = 45;

Deno.test("the starters and solutions read like mod.ts: its study rules, 100 columns, short lines", async () => {
  for (const number of NUMBERS) {
    for (const file of [starter(number), solution(number)]) {
      const source = await Deno.readTextFile(path(file));
      // lint/study.ts holds its rules for files under extras/: the source is checked as one.
      const reports = Deno.lint.runPlugin(plugin, path("extras/exercise.ts"), source);
      assert.deepEqual(reports.map((report) => `${report.id}: ${report.message}`), [], file);
      const wide = source.split("\n").filter((line) => columns(line) > MAX_COLUMNS);
      assert.deepEqual(wide, [], `${file}: lines over ${MAX_COLUMNS} columns`);
      const mean = meanCodeLength(codeLines(source));
      assert.ok(mean <= MAX_MEAN_CODE_LINE, `${file}: a mean code line of ${mean.toFixed(1)}`);
    }
  }
});
