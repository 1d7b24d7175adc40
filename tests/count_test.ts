// lint/count.ts, which the budget test uses: its comment lexer against Deno's own parser, and its line counts.
import assert from "node:assert/strict";
import {
  codeLines,
  columns,
  commentRanges,
  countLines,
  meanCodeLength,
  type Range,
} from "../lint/count.ts";
import { ROOT } from "./run_example.ts";

/** The comments Deno's TypeScript parser finds in `source`: the truth that the lexer must match. */
function parserComments(source: string): Range[] {
  const found: Range[] = [];
  const plugin: Deno.lint.Plugin = {
    name: "comments",
    rules: {
      all: {
        create(context) {
          return {
            Program() {
              for (const comment of context.sourceCode.getAllComments()) found.push(comment.range);
            },
          };
        },
      },
    },
  };
  Deno.lint.runPlugin(plugin, "snippet.ts", source);
  return found;
}

/** The text of each comment the lexer finds, to read in a failure. */
function commentTexts(source: string): string[] {
  return commentRanges(source).map(([start, end]) => source.slice(start, end));
}

const TRICKY = {
  "a URL in a string": 'const url = "http://x"; // c',
  "quotes and escapes": `const s = 'it\\'s // no', t = "a \\" /* no */"; // c`,
  "a regex with //": "const r = /^https?:\\/\\//; // c",
  "a regex with /* and a class with /": "const r = /a\\/*[/*]/g.test(s); /* c */",
  "a regex after return": "function f(s: string) { return /\\/\\//.test(s); } // c",
  "division, not a regex": "const x = a / b / c; // c",
  "division after a call": "const x = f() / 2 + g() /* c */ / 3;",
  "division after an index": "const x = xs[0] / 2 + ys[1] /* c */ / 3;",
  "a property named like a keyword": "const x = o.return / 2; // c",
  "a multi-line template with //": "const t = `\n// not a comment\n/* nor this */\n`; // c",
  "a template with code inside": "const t = `a ${b /* c1 */ + `${d}//no`} e`; // c2",
  "braces inside a template's code": "const t = `${{ a: 1 }.a}//no`; // c",
  "a block comment over lines": "/* one\n * two // still\n */ code(); // c",
  "a JSDoc with a URL": "/** See https://example.org/a//b */\nexport const x = 1;",
  "comments in type positions": "function f(a: /* t */ number): string /* u */ { return `${a}`; }",
};

for (const [name, source] of Object.entries(TRICKY)) {
  Deno.test(`the comment lexer agrees with Deno's parser: ${name}`, () => {
    const truth = parserComments(source);
    assert.ok(truth.length > 0, "each snippet has a comment to find");
    assert.deepEqual(commentRanges(source), truth, commentTexts(source).join("\n"));
  });
}

/** The project's TypeScript files, from its root (examples/public is served, not code). */
async function* projectFiles(dir = ROOT): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}${entry.name}`;
    if (entry.isDirectory && !entry.name.startsWith(".") && path !== `${ROOT}examples/public`) {
      yield* projectFiles(`${path}/`);
    } else if (entry.isFile && entry.name.endsWith(".ts")) {
      yield path;
    }
  }
}

Deno.test("the comment lexer agrees with Deno's parser on every TypeScript file of the project", async () => {
  let files = 0;
  for await (const path of projectFiles()) {
    const source = await Deno.readTextFile(path);
    assert.deepEqual(commentRanges(source), parserComments(source), path);
    files += 1;
  }
  assert.ok(files > 10, `only ${files} files found under ${ROOT}`);
});

Deno.test("countLines: blank, comment and code lines as cloc counts them", () => {
  const source = [
    "/** A module. */", // comment
    "", // blank
    "   ", // blank (only whitespace)
    "/* one", // comment
    "", // blank, even inside a comment
    " * two */", // comment
    "const a = 1; // a trailing comment", // code
    "/* lead */ f();", // code
    "/* c */ /* d */", // comment
    "const t = `", // code
    "// in a template: code", // code
    "", // blank, even inside a template
    "`;", // code
    'const u = "http://x";', // code
    "const r = /^https?:\\/\\//;", // code
    "x(); /* open", // code
    "   close */", // comment
    "y();", // code
  ].join("\n") + "\n";
  assert.deepEqual(countLines(source), { code: 9, comment: 5, blank: 4, physical: 18 });
});

Deno.test("countLines: a file without a final newline, and an empty file", () => {
  assert.deepEqual(countLines("a();\n// b"), { code: 1, comment: 1, blank: 0, physical: 2 });
  assert.deepEqual(countLines(""), { code: 0, comment: 0, blank: 0, physical: 0 });
});

Deno.test("codeLines: each code line without its indentation or trailing comment", () => {
  const source = "class A {\n  // why\n  x = 1; // what\n\n  /* a */ y = 2;\n}\n";
  assert.deepEqual(codeLines(source), [
    { line: 1, code: "class A {" },
    { line: 3, code: "x = 1;" },
    { line: 5, code: "y = 2;" },
    { line: 6, code: "}" },
  ]);
  assert.equal(meanCodeLength(codeLines(source)), (9 + 6 + 6 + 1) / 4);
  assert.equal(meanCodeLength([]), 0);
});

Deno.test("columns: one a character, so a dash or an emoji is one column", () => {
  assert.equal(columns("a—😀"), 3);
});
