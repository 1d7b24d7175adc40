/**
 * Counts a TypeScript file's lines the way cloc does: blank, comment and code lines, plus the
 * measures the study-text budget asks for (the longest lines, the mean code line).
 *
 * It needs no parser and no permissions, so a test, a bench script or a README script can use it.
 * The one hard part is to find the comments: `//` and `/*` also appear inside strings, template
 * literals and regular expressions. {@linkcode commentRanges} is a small lexer that knows those;
 * `tests/count_test.ts` checks it against the comments Deno's own parser finds.
 * @module
 */

/** Where something is in a text: `[start, end)`, in UTF-16 code units, as in `text.slice`. */
export type Range = [start: number, end: number];

/** The lines of a file, by kind, and the total (`physical`). */
export interface LineCounts {
  code: number;
  comment: number;
  blank: number;
  physical: number;
}

/** One code line, measured without its indentation and without a trailing comment. */
export interface CodeLine {
  /** 1-based, as an editor shows it. */
  line: number;
  /** The code alone. */
  code: string;
}

// Words after which a `/` starts a regular expression, not a division: `return /x/.test(s)`.
const KEYWORDS_BEFORE_EXPRESSION = new Set([
  "await",
  "case",
  "delete",
  "do",
  "else",
  "in",
  "instanceof",
  "new",
  "of",
  "return",
  "throw",
  "typeof",
  "void",
  "yield",
]);

const WORD_CHAR = /[\w$\u0080-\uffff]/;
const SPACE = /\s/;

/**
 * The comments of a TypeScript or JavaScript source, in order: each range covers the whole
 * comment, `//` or `/*` included, and a line comment ends before its newline.
 *
 * @example
 * ```ts
 * commentRanges('const url = "http://x"; // a URL'); // [[24, 32]]
 * ```
 */
export function commentRanges(text: string): Range[] {
  const comments: Range[] = [];
  // One entry per template literal whose `${` we are inside: the `{` still open in it.
  const openBraces: number[] = [];
  // Whether a `/` here would start a regular expression (true) or be a division (false).
  let regexHere = true;
  // The last token was a `.`: the word after it is a property name, never a keyword.
  let afterDot = false;
  let i = 0;
  while (i < text.length) {
    const char = text[i];
    const next = text[i + 1];
    if (SPACE.test(char)) {
      i += 1;
      continue;
    }
    if (char === "/" && next === "/") {
      const newline = text.indexOf("\n", i);
      const end = newline === -1 ? text.length : newline;
      comments.push([i, end]);
      i = end;
      continue;
    }
    if (char === "/" && next === "*") {
      const close = text.indexOf("*/", i + 2);
      const end = close === -1 ? text.length : close + 2;
      comments.push([i, end]);
      i = end;
      continue;
    }
    const start = i;
    if (char === '"' || char === "'") {
      i = skipString(text, i);
    } else if (char === "`") {
      i = skipTemplatePart(text, i + 1, openBraces);
    } else if (char === "}" && openBraces.at(-1) === 0) {
      // The end of a template's `${ ... }`: the template goes on after it.
      openBraces.pop();
      i = skipTemplatePart(text, i + 1, openBraces);
    } else if (char === "/" && regexHere) {
      i = skipRegex(text, i);
    } else if (WORD_CHAR.test(char)) {
      while (i < text.length && WORD_CHAR.test(text[i])) i += 1;
    } else {
      i += 1;
    }
    const token = text.slice(start, i);
    regexHere = startsExpression(token, afterDot);
    afterDot = token === ".";
    if (token === "{" && openBraces.length > 0) openBraces[openBraces.length - 1] += 1;
    if (token === "}" && openBraces.length > 0) openBraces[openBraces.length - 1] -= 1;
  }
  return comments;
}

/** Whether an expression (and so a regular expression) may start right after `token`. */
function startsExpression(token: string, afterDot: boolean): boolean {
  if (WORD_CHAR.test(token[0])) return !afterDot && KEYWORDS_BEFORE_EXPRESSION.has(token);
  // A template's text up to a `${`: an expression starts.
  if (token.endsWith("${")) return true;
  // Punctuation is one character a token here: after most of it, an expression may start.
  if (token.length === 1) return !")]}".includes(token);
  // After a string, a template or a regex, a `/` divides. (After a block's `}` it could start
  // a regex statement, and after `)` too, as in `if (x) /y/.test(s)`: nobody writes those.)
  return false;
}

/** The index just past the string literal that starts at `start` (past its line, if unclosed). */
function skipString(text: string, start: number): number {
  const quote = text[start];
  let i = start + 1;
  while (i < text.length && text[i] !== quote && text[i] !== "\n") {
    i += text[i] === "\\" ? 2 : 1;
  }
  return i + 1;
}

/**
 * Skips template-literal text from `i` to its closing backtick, or to a `${`, whose expression
 * the caller lexes as code (an entry on `openBraces` marks that we are inside one).
 */
function skipTemplatePart(text: string, i: number, openBraces: number[]): number {
  while (i < text.length) {
    if (text[i] === "\\") {
      i += 2;
    } else if (text[i] === "`") {
      return i + 1;
    } else if (text[i] === "$" && text[i + 1] === "{") {
      openBraces.push(0);
      return i + 2;
    } else {
      i += 1;
    }
  }
  return i;
}

/** The index just past the regular expression that starts at `start`, flags included. */
function skipRegex(text: string, start: number): number {
  let i = start + 1;
  // Inside `[...]`, a `/` does not end the expression: /[/]/ is valid.
  let inClass = false;
  while (i < text.length && text[i] !== "\n") {
    const char = text[i];
    if (char === "\\") {
      i += 2;
      continue;
    }
    i += 1;
    if (char === "[") inClass = true;
    if (char === "]") inClass = false;
    if (char === "/" && !inClass) break;
  }
  while (i < text.length && WORD_CHAR.test(text[i])) i += 1;
  return i;
}

/**
 * The text with every comment blanked out: each character of a comment becomes a space, and its
 * newlines stay, so lines and columns still match the original.
 */
export function withoutComments(text: string, comments: Range[] = commentRanges(text)): string {
  let result = "";
  let from = 0;
  for (const [start, end] of comments) {
    result += text.slice(from, start);
    result += text.slice(start, end).replace(/[^\n]/g, " ");
    from = end;
  }
  return result + text.slice(from);
}

/** The lines of a text; a final newline does not start one more (as cloc and editors count). */
export function linesOf(text: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/**
 * Counts lines as cloc does. A line is blank if it is only whitespace (even inside a comment or
 * a template literal). It is a comment line if nothing but comment and whitespace is on it.
 * Every other line is code: a line inside a template literal too, and code with a comment after.
 */
export function countLines(text: string, comments: Range[] = commentRanges(text)): LineCounts {
  const lines = linesOf(text);
  const codeLines = linesOf(withoutComments(text, comments));
  const counts: LineCounts = { code: 0, comment: 0, blank: 0, physical: lines.length };
  lines.forEach((line, index) => {
    if (line.trim() === "") {
      counts.blank += 1;
    } else if (codeLines[index].trim() === "") {
      counts.comment += 1;
    } else {
      counts.code += 1;
    }
  });
  return counts;
}

/** The code lines, each without indentation or trailing comment (comment lines left out). */
export function codeLines(text: string, comments: Range[] = commentRanges(text)): CodeLine[] {
  const lines = linesOf(withoutComments(text, comments));
  return lines.flatMap((line, index) => {
    const code = line.trim();
    return code === "" ? [] : [{ line: index + 1, code }];
  });
}

/** The mean length of the code lines, in characters (0 for a file without code). */
export function meanCodeLength(lines: CodeLine[]): number {
  if (lines.length === 0) return 0;
  const total = lines.reduce((sum, { code }) => sum + columns(code), 0);
  return total / lines.length;
}

/** How many columns a line takes: one per character (code point), not per UTF-16 unit. */
export function columns(line: string): number {
  return [...line].length;
}
