// The project's lint plugin, lint/study.ts: for each rule, code it reports and close cousins it lets be.
// Deno.lint.runPlugin runs the plugin on a snippet, in this process: no files, no subprocess.
import assert from "node:assert/strict";
import plugin from "../lint/study.ts";
import { ROOT } from "./run_example.ts";

/** Where a snippet is said to be: under extras/, so the study rules hold for it. */
const IN_EXTRAS = `${ROOT}extras/snippet.ts`;

/** The study rules that report on `source`, one entry a report, without the `study/` prefix. */
function reports(source: string, filename = IN_EXTRAS): string[] {
  return Deno.lint.runPlugin(plugin, filename, source).map((report) =>
    report.id.replace(/^study\//, "")
  );
}

/** Asserts that `rule` reports each snippet exactly once. */
function assertReported(rule: string, snippets: string[]) {
  for (const snippet of snippets) {
    const count = reports(snippet).filter((id) => id === rule).length;
    assert.equal(count, 1, `${rule} should report this once, not ${count} times:\n${snippet}`);
  }
}

/** Asserts that `rule` reports none of the snippets (other rules may). */
function assertNotReported(rule: string, snippets: string[]) {
  for (const snippet of snippets) {
    assert.ok(!reports(snippet).includes(rule), `${rule} should not report this:\n${snippet}`);
  }
}

Deno.test("deno.json registers the plugin, so `deno lint` (and `deno task test`) reports its rules", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  assert.deepEqual(config.lint.plugins, ["./lint/study.ts"]);
  assert.equal(plugin.name, "study");
});

Deno.test("the rules hold for mod.ts and extras/, not for tests, examples or bench", () => {
  const packed = "let a = 0, b = 1;";
  assert.deepEqual(reports(packed, `${ROOT}mod.ts`), ["one-declaration-per-line"]);
  assert.deepEqual(reports(packed, `${ROOT}extras/deep/er.ts`), ["one-declaration-per-line"]);
  assert.deepEqual(reports(packed, `file://${ROOT}extras/as_a_url.ts`), [
    "one-declaration-per-line",
  ]);
  for (
    const elsewhere of ["tests/x_test.ts", "examples/hello.ts", "bench/http.ts", "examples/mod.ts"]
  ) {
    assert.deepEqual(reports(packed, `${ROOT}${elsewhere}`), [], elsewhere);
  }
  assert.deepEqual(
    reports(packed, "/another/project/extras/x.ts"),
    [],
    "another project's extras/",
  );
});

Deno.test("every message is a sentence-case instruction without a final period", () => {
  const everything = `
    a(), b();
    if ((x = f())) g();
    [a, b] = [b, a];
    const v = a ? b : c ? d : e;
    for (;;);
    function f(until = Date.now()) {}
    class C { static { g(); } }
    let p = 0, q = 1;
    class D { f = () => 1; }
    g(); // a comment far too long to trail behind a line of code
  `;
  const found = Deno.lint.runPlugin(plugin, IN_EXTRAS, everything);
  assert.deepEqual(
    new Set(found.map((report) => report.id)),
    new Set(Object.keys(plugin.rules).map((r) => `study/${r}`)),
  );
  for (const { id, message } of found) {
    assert.match(message, /^[A-Z]/, `${id}: ${message}`);
    assert.doesNotMatch(message, /\.$/, `${id}: ${message}`);
  }
});

Deno.test("no-comma-operator: reports a comma between steps, not a for header's two counters", () => {
  assertReported("no-comma-operator", [
    "a(), b();",
    "a = 1, b = 2;",
    "const x = (a(), b());",
    "function f() { return (a(), b); }",
    "for (let i = 0; i < n; i++) g(), h();",
    "while ((a(), b)) g();",
  ]);
  assertNotReported("no-comma-operator", [
    "for (let i = 0, j = 1; i < n; i++, j++) g(i, j);",
    "for (i = 0, j = n; i < j; i++, j--) g(i, j);",
    "g(a, b);",
    "const [a, b] = [1, 2];",
    "let x = 1;\nlet y = 2;",
  ]);
});

Deno.test("no-assign-in-expression: reports an assignment or ++ used as a value, not one that is a statement", () => {
  assertReported("no-assign-in-expression", [
    "if ((x = f())) g();",
    "function f() { return (x = 1); }",
    "g(x = 1);",
    "const f = () => x = 1;",
    "const f = () => (this.closed ||= true);",
    "const list = [x = 1];",
    "const o = { k: (x += 1) };",
    "const y = x ??= 3;",
    "a = b = 1;",
    "g(i++);",
    "if (++count > max) g();",
    "class C { #buf = [0]; #start = 0; f(n: number) { return this.#buf.slice(this.#start, this.#start += n); } }",
    "while ((n -= 1) > 0) g();",
  ]);
  assertNotReported("no-assign-in-expression", [
    "x = 1;",
    // Two steps joined by a comma: no-comma-operator reports that, and it is the one thing to fix.
    "a = 1, b = 2;",
    "class C { #owed = 0; f() { this.#owed += data.length; } }",
    "x ||= 2;",
    "x ??= new Headers();",
    "i++;",
    "--i;",
    "for (i = 0; i < n; i++) g();",
    "for (let i = 0; i < n; i += 2) g();",
    "const f = () => { x = 1; };",
    "const y = x === 1;",
    "const { a = 1 } = o;",
  ]);
});

Deno.test("no-multi-assign-destructuring: reports a destructuring assignment, not a destructuring declaration", () => {
  assertReported("no-multi-assign-destructuring", [
    "[a, b] = [b, a];",
    "({ x, y } = point);",
    "class C { #a = 0; #b = 0; f() { [this.#a, this.#b] = [1, 2]; } }",
    "for ([k, v] of pairs) g(k, v);",
  ]);
  assertNotReported("no-multi-assign-destructuring", [
    "const [a, b] = f();",
    "let { x, y } = point;",
    "for (const [k, v] of pairs) g(k, v);",
    "function f([a, b]: number[]) {}",
    "a = b;",
  ]);
});

Deno.test("no-nested-ternary: reports a ? : inside another's parts, not side by side or inside a call", () => {
  assertReported("no-nested-ternary", [
    "const v = a ? b : c ? d : e;",
    "const v = a ? (b ? 1 : 2) : 3;",
    "const v = (a ? b : c) ? d : e;",
    "const v = a ? (b ? 1 : 2) as number : 3;",
  ]);
  assertNotReported("no-nested-ternary", [
    "const v = a ? b : c;",
    "const v = [a ? 1 : 2, b ? 3 : 4];",
    "const v = f(a ? b : c) ? 1 : 2;",
    "const v = a ? () => (b ? 1 : 2) : 3;",
  ]);
});

Deno.test("no-work-in-loop-header: reports an empty body, or await or assignment in the test", () => {
  assertReported("no-work-in-loop-header", [
    "for (;;);",
    "while (busy()) {}",
    "for (const x of xs) {}",
    "while (await more()) g();",
    'while ((line = await read()) !== "") g(line);',
    "do g(); while ((n = next()) > 0);",
    "for (let n; (n = next()) !== 0;) g(n);",
    "while (i-- > 0) g();",
  ]);
  assertNotReported("no-work-in-loop-header", [
    'while (true) {\n  const line = await read();\n  if (line === "") break;\n}',
    "for (let i = 0; i < n; i++) g(i);",
    "for (const x of await list()) g(x);",
    "while (items.some((x) => x.done)) g();",
    "while (check(async () => { await x; })) g();",
    "while (queue.length > 0) await queue.shift();",
  ]);
});

Deno.test("no-computed-default-param: reports a default that computes, not a plain value", () => {
  assertReported("no-computed-default-param", [
    "function f(until = Date.now() + 1000) {}",
    "function f(out = new Uint8Array(8)) {}",
    "const f = (size = parts.reduce((n, p) => n + p.length, 0)) => size;",
    "class C { m(x = g()) {} }",
    "class C { constructor(private n = a.length) {} }",
    "function f({ a = g() } = {}) {}",
    "function f(o = { a: 1 }) {}",
    "function f(xs = [1]) {}",
  ]);
  assertNotReported("no-computed-default-param", [
    'function f(init = {}, list = [], status = 400, name = "x", on = true, none = null) {}',
    "function f(u = undefined, limits = LIMITS, n = -1, s = `plain`) {}",
    "class C { constructor(private writes = 0) {} }",
    "function f(status: 301 | 302 = 302) {}",
    "function f(init = {} as RequestInit) {}",
    "const { a = g() } = obj;",
  ]);
});

Deno.test("no-static-block: reports a static {} block, not static fields or methods", () => {
  assertReported("no-static-block", ["class C { static { init(); } }"]);
  assertNotReported("no-static-block", ["class C { static x = 1; static m() {} }"]);
});

Deno.test("one-declaration-per-line: reports several declarators in one let/const/var, not in a for header", () => {
  assertReported("one-declaration-per-line", [
    "let a = 0, b = 1;",
    "const x = 1, y = 2;",
    "var p, q;",
    "function f() { let lf, at = 0; }",
  ]);
  assertNotReported("one-declaration-per-line", [
    "let a = 0;\nlet b = 1;",
    "for (let i = 0, j = 1; i < j; i++) g();",
    "const [a, b] = pair;",
  ]);
});

Deno.test("function-fields-say-why: a field holding a function needs a comment that says replace or pass", () => {
  assertReported("function-fields-say-why", [
    "class C { f = () => 1; }",
    "class C { static html = (s: string) => s; }",
    "class C { #add = function () {}; }",
    "class C {\n  /** Answers a request. */\n  handle = () => 1;\n}",
    // The comment is the field above's, not this one's.
    "class C {\n  /** Replace it to change the 404 page. */\n  a = 1;\n  b = () => 2;\n}",
    "class C {\n  a = 1; // replace me\n  b = () => 2;\n}",
  ]);
  assertNotReported("function-fields-say-why", [
    "class C {\n  /** The answer for a path no route has; replace it to change the 404 page. */\n  notFound = () => 1;\n}",
    "class C {\n  // Passed around: Deno.serve(app.fetch).\n  fetch = async () => 1;\n}",
    "class C {\n  /**\n   * Answers one request.\n   * Tests replace it.\n   */\n  // (a note)\n  handle = () => 1;\n}",
    "class C {\n  fetch = async () => 1; // passed to Deno.serve\n}",
    "class C { m() { return 1; } }",
    "class C { onError = errorResponse; }",
    "class C { n = 1; }",
  ]);
});

Deno.test("short-trailing-comment: reports a comment after code longer than 40 characters", () => {
  const fortyOne = "// " + "x".repeat(38);
  const forty = "// " + "x".repeat(37);
  assertReported("short-trailing-comment", [
    `const x = 1; ${fortyOne}`,
    "f(); /* a long block comment that goes past forty chars */",
    "f(); // what this call is for, and why it must come first",
  ]);
  assertNotReported("short-trailing-comment", [
    `const x = 1; ${forty}`,
    "const LIMITS = {\n  maxHeaderCount: 100, // more header fields: 431\n};",
    "// A long comment on its own line above the step is where the why goes.\nf();",
    "/* a long leading block comment, before the code on its line */ f();",
    'const s = "// not a comment at all, though long enough to be one";',
    "const t = `\n  ${x} // inside a template literal, long enough to be reported\n`;",
  ]);
});
