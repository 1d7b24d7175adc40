/**
 * The study-text rules of `shared/STYLE.md` ("Rules for mod.ts", rule 1 and the comment part of
 * rule 3), as a Deno lint plugin: `deno lint` reports them as `study/<rule>`.
 *
 * They hold for `mod.ts` and for files under `extras/`, the code that learners read. Tests,
 * examples and benchmarks are not held to them.
 *
 * Each rule's message says how to write the code instead. The plugin is tested in
 * `tests/lint_test.ts`.
 * @module
 */
import { withoutComments } from "./count.ts";

type Node = Deno.lint.Node;
type Context = Deno.lint.RuleContext;

// The project's root, where mod.ts is: this file is in its lint/ folder.
const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);

/** Whether the file is one the rules hold for: the root's `mod.ts`, or a file under `extras/`. */
export function isStudyText(filename: string): boolean {
  const isUrl = filename.startsWith("file:");
  const path = isUrl ? decodeURIComponent(new URL(filename).pathname) : filename;
  if (!path.startsWith(ROOT)) return false;
  const inside = path.slice(ROOT.length);
  return inside === "mod.ts" || inside.startsWith("extras/");
}

/** A rule that only looks at study texts: `create` gets the context and returns the visitor. */
function studyRule(create: (context: Context) => Deno.lint.LintVisitor): Deno.lint.Rule {
  return {
    create(context) {
      return isStudyText(context.filename) ? create(context) : {};
    },
  };
}

// ---------------------------------------------------------------------------- helpers

// Type-only wrappers around an expression: `x as T`, `x satisfies T`, `x!`, `<T>x`.
// Parentheses leave no node at all in Deno's tree, so `(a ? b : c)` is a ConditionalExpression.
const TYPE_WRAPPERS = new Set([
  "TSAsExpression",
  "TSSatisfiesExpression",
  "TSNonNullExpression",
  "TSTypeAssertion",
]);

const FUNCTIONS = new Set([
  "FunctionDeclaration",
  "FunctionExpression",
  "ArrowFunctionExpression",
  "TSDeclareFunction",
  "TSEmptyBodyFunctionExpression",
]);

const LOOPS = new Set([
  "ForStatement",
  "ForInStatement",
  "ForOfStatement",
  "WhileStatement",
  "DoWhileStatement",
]);

/** The expression inside any type-only wrappers: `{} as T` is `{}`. */
function withoutTypes(node: Node): Node {
  let inner = node;
  while (TYPE_WRAPPERS.has(inner.type) && "expression" in inner) inner = inner.expression as Node;
  return inner;
}

/** The node that holds `node`, past any type-only wrappers. */
function holder(node: Node): Node | undefined {
  let parent = parentOf(node);
  while (parent !== undefined && TYPE_WRAPPERS.has(parent.type)) parent = parentOf(parent);
  return parent;
}

/** The node's parent; undefined for the Program (its `parent` is null; its type has none). */
function parentOf(node: Node): Node | undefined {
  return "parent" in node ? (node.parent as Node | null) ?? undefined : undefined;
}

/** Whether `node` is the init or the update of a `for` header: `for (init; test; update)`. */
function inForHeader(node: Node): boolean {
  const parent = parentOf(node);
  if (parent?.type !== "ForStatement") return false;
  return parent.init === node || parent.update === node;
}

/** Whether two offsets in `text` are on the same line. */
function sameLine(text: string, a: number, b: number): boolean {
  return !text.slice(Math.min(a, b), Math.max(a, b)).includes("\n");
}

/** Where the line that holds `offset` starts. */
function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

// ---------------------------------------------------------------------------- one step per line

// `a = 1, b = 2` is two steps on one line, and a reader must find the comma to see the second.
// A `for` header may step two counters at once: `for (let i = 0, j = n; i < j; i++, j--)`.
const noCommaOperator = studyRule((context) => ({
  SequenceExpression(node) {
    if (inForHeader(node)) return;
    context.report({
      node,
      message: "Write each step as a statement of its own instead of joining them with a comma",
    });
  },
}));

// An assignment inside a condition, a return or an argument changes state where the reader
// expects only a value. On its own line it is a step that can be read and commented.
function reportAssignmentInExpression(context: Context, node: Node) {
  // A statement `a = 1, b = 2;` is no-comma-operator's to report; its parts are steps.
  let child = node;
  let parent = parentOf(node);
  while (parent?.type === "SequenceExpression") {
    child = parent;
    parent = parentOf(parent);
  }
  if (parent?.type === "ExpressionStatement" || inForHeader(child)) return;
  context.report({
    node,
    message: "Make the assignment a statement of its own on the line before, then use the variable",
  });
}

const noAssignInExpression = studyRule((context) => ({
  AssignmentExpression(node) {
    reportAssignmentInExpression(context, node);
  },
  UpdateExpression(node) {
    reportAssignmentInExpression(context, node);
  },
}));

// `[this.#a, this.#b] = [x, y]` sets several things in one step, and the reader must pair the
// two lists up. Declarations (`const [a, b] = pair`) name new things and are fine.
const noMultiAssignDestructuring = studyRule((context) => {
  const message = "Assign each variable or field on a line of its own, e.g. `this.#start = 0;`";
  return {
    AssignmentExpression(node) {
      const left = node.left.type;
      if (left === "ArrayPattern" || left === "ObjectPattern") context.report({ node, message });
    },
    "ForOfStatement, ForInStatement"(node: Deno.lint.ForOfStatement | Deno.lint.ForInStatement) {
      const left = node.left;
      if (left.type === "ArrayPattern" || left.type === "ObjectPattern") {
        context.report({ node: left, message });
      }
    },
  };
});

// `a ? b : c ? d : e` must be untangled before it can be read; an `if` chain reads in order.
const noNestedTernary = studyRule((context) => ({
  ConditionalExpression(node) {
    if (holder(node)?.type !== "ConditionalExpression") return;
    context.report({
      node,
      message: "Use an `if`/`else` chain (or a function that returns) instead of a nested `? :`",
    });
  },
}));

// A loop whose header reads, parses and assigns hides the work where only the test should be,
// and an empty body says that all of it happened there.
function isEmptyBody(body: Node | null): boolean {
  // Deno 2.9 gives an empty statement (`for (...);`) as null, though its types say Statement.
  return body === null || (body.type === "BlockStatement" && body.body.length === 0);
}

/** The loop whose test holds `node`, if any (a function in between ends the search). */
function loopTestHolding(node: Node): Node | undefined {
  let child = node;
  let parent = parentOf(node);
  while (parent !== undefined && !FUNCTIONS.has(parent.type)) {
    if (LOOPS.has(parent.type) && "test" in parent && parent.test === child) return parent;
    child = parent;
    parent = parentOf(parent);
  }
  return undefined;
}

const noWorkInLoopHeader = studyRule((context) => {
  // One report for a test however much work is in it.
  const reported = new Set<Node>();
  function checkTest(node: Node) {
    const loop = loopTestHolding(node);
    if (loop === undefined || reported.has(loop)) return;
    reported.add(loop);
    context.report({
      node: loop,
      message: "Do the work (await, assign) in the loop's body; the header only tests",
    });
  }
  return {
    "ForStatement, ForInStatement, ForOfStatement, WhileStatement, DoWhileStatement"(
      node: Deno.lint.ForStatement | Deno.lint.WhileStatement,
    ) {
      if (!isEmptyBody(node.body)) return;
      const message = "Give the loop a body that does the work; the header only tests";
      context.report({ node, message });
    },
    AwaitExpression: checkTest,
    AssignmentExpression: checkTest,
    UpdateExpression: checkTest,
  };
});

// A default like `until = Date.now() + ms` is a step of the function, hidden in its signature.
// A plain value (a literal, a name, `-1`, `{}`, `[]`) only says what "not given" means.
function isPlainValue(value: Node): boolean {
  const node = withoutTypes(value);
  switch (node.type) {
    case "Literal":
    case "Identifier":
      return true;
    case "TemplateLiteral":
      return node.expressions.length === 0;
    case "UnaryExpression":
      return node.operator === "-" && node.argument.type === "Literal";
    case "ObjectExpression":
      return node.properties.length === 0;
    case "ArrayExpression":
      return node.elements.length === 0;
    default:
      return false;
  }
}

// The nodes between a parameter's default and its function: `{ a = 1 }: T = {}` nests them.
const PARAMETER_PARTS = new Set([
  "AssignmentPattern",
  "ObjectPattern",
  "ArrayPattern",
  "Property",
  "RestElement",
  "TSParameterProperty",
]);

/** Whether an AssignmentPattern is a default in a function's parameters. */
function isParameterDefault(node: Node): boolean {
  let parent = parentOf(node);
  while (parent !== undefined && PARAMETER_PARTS.has(parent.type)) parent = parentOf(parent);
  return parent !== undefined && FUNCTIONS.has(parent.type);
}

const noComputedDefaultParam = studyRule((context) => ({
  AssignmentPattern(node) {
    if (!isParameterDefault(node) || isPlainValue(node.right)) return;
    context.report({
      node: node.right,
      message: "Compute it in the body: give the parameter a plain default (or `?`) instead",
    });
  },
}));

// A `static {}` block runs when the class is defined, out of the reader's order; a top-level
// statement or a field initializer says the same where it is read.
const noStaticBlock = studyRule((context) => ({
  StaticBlock(node) {
    context.report({
      node,
      message: "Set it up in a top-level statement or a field initializer, not a `static {}` block",
    });
  },
}));

// `let a = 0, b, c = 1;` hides the second and third names; Hono's habit is one per line.
const oneDeclarationPerLine = studyRule((context) => ({
  VariableDeclaration(node) {
    if (node.declarations.length < 2 || inForHeader(node)) return;
    const message = `Declare one variable per \`${node.kind}\`, each on a line of its own`;
    context.report({ node, message });
  },
}));

// ---------------------------------------------------------------------------- comments

// A word in a comment that says why a field holds a function: it is replaced, or passed around.
const SAYS_WHY = /\b(replace[sd]?|replacing|pass(es|ed|ing)?)\b/i;

/**
 * The comments that belong to a node: the run of comments right above it (a JSDoc, `//` lines),
 * and any comment on its first line.
 */
function commentsOf(context: Context, node: Node): string[] {
  const text = context.sourceCode.text;
  const comments = context.sourceCode.getAllComments();
  // Not getCommentsBefore: in Deno 2.9 it returns every comment before the node, back to the
  // top of the file, not only those since the previous token.
  const above = [];
  let cursor = node.range[0];
  for (const comment of comments.toReversed()) {
    const [start, end] = comment.range;
    if (end > cursor) continue;
    // Only whitespace between it and what follows; and no code before it on its line (that
    // would be the previous line's trailing comment).
    if (text.slice(end, cursor).trim() !== "") break;
    if (text.slice(lineStart(text, start), start).trim() !== "") break;
    above.push(comment);
    cursor = start;
  }
  const onFirstLine = comments.filter((comment) => {
    const start = comment.range[0];
    return start > node.range[0] && sameLine(text, start, node.range[0]);
  });
  return [...above, ...onFirstLine].map((comment) => comment.value);
}

// STYLE.md rule 6: methods are methods. A field that holds a function is for something meant to
// be replaced (`app.notFound = ...`) or passed around (`Deno.serve(app.fetch)`), and says so.
const FUNCTION_FIELD_MESSAGE = "Write it as a method; a field holding a function is only for " +
  "something meant to be replaced or passed around, and its comment says which";

const functionFieldsSayWhy = studyRule((context) => ({
  PropertyDefinition(node) {
    if (node.value === null) return;
    const value = withoutTypes(node.value).type;
    if (value !== "ArrowFunctionExpression" && value !== "FunctionExpression") return;
    if (commentsOf(context, node).some((comment) => SAYS_WHY.test(comment))) return;
    context.report({ node, message: FUNCTION_FIELD_MESSAGE });
  },
}));

// A trailing comment is for a few words on a constant. A longer why belongs on its own line
// above the step, where it has room and does not push the line past 100 columns.
const MAX_TRAILING_COMMENT = 40;

const shortTrailingComment = studyRule((context) => ({
  Program() {
    const text = context.sourceCode.text;
    const comments = context.sourceCode.getAllComments();
    const code = withoutComments(text, comments.map((comment) => comment.range));
    for (const comment of comments) {
      const [start, end] = comment.range;
      const codeBefore = code.slice(lineStart(text, start), start).trim() !== "";
      const firstLine = text.slice(start, end).split("\n")[0];
      if (!codeBefore || [...firstLine].length <= MAX_TRAILING_COMMENT) continue;
      const message = "Put the why on its own line above the step";
      context.report({ range: comment.range, message });
    }
  },
}));

/** The plugin: `deno.json` lists this file under `lint.plugins`. */
const plugin: Deno.lint.Plugin = {
  name: "study",
  rules: {
    "no-comma-operator": noCommaOperator,
    "no-assign-in-expression": noAssignInExpression,
    "no-multi-assign-destructuring": noMultiAssignDestructuring,
    "no-nested-ternary": noNestedTernary,
    "no-work-in-loop-header": noWorkInLoopHeader,
    "no-computed-default-param": noComputedDefaultParam,
    "no-static-block": noStaticBlock,
    "one-declaration-per-line": oneDeclarationPerLine,
    "function-fields-say-why": functionFieldsSayWhy,
    "short-trailing-comment": shortTrailingComment,
  },
};

export default plugin;
