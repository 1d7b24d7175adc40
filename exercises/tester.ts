/**
 * The exercises' tester (its command is `main.ts`). It starts your server as a child process,
 * talks to it over real TCP on 127.0.0.1, and prints a line per check. When a check fails, it
 * prints the bytes it sent, the bytes it got, and a caret under the first byte that is not what
 * it expected:
 *
 * ```sh
 * deno task exercise 3                 # exercise 3's checks, on its starter
 * deno task exercise 3 my_server.ts    # the same checks, on your file
 * ```
 *
 * The engine is this file: a `Wire` is one connection, and knows how to send pieces with pauses
 * between them and how to read an answer and compare it with what was expected. Each exercise's
 * checks, in `NN-name/checks.ts`, are data for `exchange()`, or small functions of a `Wire`.
 *
 * @module
 */
import { collect, freePort, stopProcess } from "../tests/run_example.ts";

// ================================================================================================
// Waits: each one has a deadline, far longer than a server on this machine needs. They keep a
// broken server from hanging the tester; they are not a measure of speed.
// ================================================================================================

/** How long a connection may take to open, or a write to go into the socket. */
const SOCKET_MS = 5_000;

/** How long an answer may take to come whole, or a promised close to happen. */
export const ANSWER_MS = 5_000;

/** How long a server may take to print "Listening on": it may have to be compiled first. */
const START_MS = 15_000;

/** How long to wait, before the last piece of a request, for an answer that should not come. */
export const QUIET_MS = 100;

/** How long one check may take in all: its own waits end sooner, this is the last guard. */
const CHECK_MS = 30_000;

/** How long a server's output may stay open after it has been stopped. */
const PIPE_MS = 5_000;

/** The most bytes one read takes from the socket. */
const READ_BYTES = 64 * 1024;

const CR = 13;
const LF = 10;
const encoder = new TextEncoder();
// Latin-1 gives one character per byte: an index into the text is an index into the bytes.
const latin1 = new TextDecoder("latin1");

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ================================================================================================
// A Wire: one connection, and everything that went each way on it
// ================================================================================================

/** What a check sends: text (sent as UTF-8) or bytes. */
export type Piece = string | Uint8Array;

/** How a field of an answer must look: this value, a match, or a function that complains. */
export type Want = string | RegExp | ((value: string | null) => string | undefined);

/** An answer a check expects, as much of it as the check cares about. */
export type Answer = {
  /** The status code: the status line must begin `HTTP/1.1 <status> `. */
  status: number;
  /** The reason phrase too, when given: the line must then be exactly `HTTP/1.1 200 OK\r\n`. */
  reason?: string;
  /** Fields by name (any case): the value each must have. */
  fields?: Record<string, Want>;
  /** The body, byte for byte. */
  body?: Piece;
  /** True for the answer to a HEAD request, which has no body whatever its length says. */
  head?: boolean;
};

/** An answer as it came: where it lies in the bytes got, and what it said. */
export type Got = {
  status: number;
  /** Field values by lowercase name; a field sent twice is joined with ", ". */
  fields: Map<string, string>;
  body: Uint8Array;
  /** Where the answer starts in `wire.got`, where its body starts, and where it ends. */
  start: number;
  bodyStart: number;
  end: number;
};

/** A check that failed: the bytes each way, the byte that is wrong, and what was expected there. */
export class Mismatch extends Error {
  /** Makes a mismatch at byte `at` of `got`; `note` goes after the caret. */
  constructor(
    message: string,
    readonly sent: Uint8Array,
    readonly writes: number,
    readonly got: Uint8Array,
    readonly at: number,
    readonly note: string,
    readonly ended: Wire["state"],
  ) {
    super(message);
    this.name = "Mismatch";
  }
}

/** One TCP connection to the server under test, read all along in the background. */
export class Wire {
  /** Every byte written, in order, and how many writes carried them. */
  sent: Uint8Array = new Uint8Array(0);
  writes = 0;
  /** Every byte got, in order. */
  got: Uint8Array = new Uint8Array(0);
  /** Where the next answer should start in `got`, and how many answers came before it. */
  at = 0;
  answered = 0;
  /** How the connection stands: open, closed by the server (or reset), or closed by us. */
  state: "open" | "closed" | "reset" | "ours" = "open";
  #conn: Deno.TcpConn;
  #changed = Promise.withResolvers<void>();
  #reading: Promise<void>;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.#reading = this.#readAll();
  }

  /** Connects to 127.0.0.1:`port`. */
  static async open(port: number): Promise<Wire> {
    const connecting = Deno.connect({ hostname: "127.0.0.1", port });
    const conn = await deadline(connecting, SOCKET_MS, `a connection to port ${port}`);
    // Each write leaves at once, as its own segment: Nagle's algorithm would merge small ones.
    conn.setNoDelay(true);
    return new Wire(conn);
  }

  async #readAll(): Promise<void> {
    const buffer = new Uint8Array(READ_BYTES);
    while (this.state === "open") {
      let count: number | null = null;
      try {
        count = await this.#conn.read(buffer);
      } catch (err) {
        if (this.state === "open" && (err as Error).name === "ConnectionReset") {
          this.state = "reset";
        }
      }
      if (count === null && this.state === "open") this.state = "closed";
      if (count !== null) this.got = join(this.got, buffer.subarray(0, count));
      this.#changed.resolve();
      this.#changed = Promise.withResolvers<void>();
    }
  }

  /** Waits until `done()` holds, the connection ends, or `ms` pass; then says if `done()` holds. */
  async until(done: () => boolean, ms: number = ANSWER_MS): Promise<boolean> {
    const end = Date.now() + ms;
    while (!done() && this.state === "open" && Date.now() < end) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, end - Date.now());
      });
      await Promise.race([this.#changed.promise, late]);
      clearTimeout(timer);
    }
    return done();
  }

  /**
   * Writes the pieces one after the other, `pauseMs` apart. It stops early, without failing, if
   * the server closes the connection: what it did with the bytes is for the check to judge.
   */
  async send(pieces: Piece | Piece[], pauseMs = 0): Promise<boolean> {
    const all = Array.isArray(pieces) ? pieces : [pieces];
    for (let i = 0; i < all.length; i++) {
      if (i > 0 && pauseMs > 0) await sleep(pauseMs);
      if (this.state !== "open") return false;
      const bytes = typeof all[i] === "string" ? encoder.encode(all[i] as string) : all[i];
      if (!(await this.#write(bytes as Uint8Array))) return false;
    }
    return true;
  }

  async #write(bytes: Uint8Array): Promise<boolean> {
    this.writes++;
    let rest = bytes;
    while (rest.length > 0) {
      // A server that reads nothing fills the socket's buffers, and a write waits for ever: past
      // SOCKET_MS, the connection is closed, which ends the write.
      const stuck = setTimeout(() => this.close(), SOCKET_MS);
      try {
        const count = await this.#conn.write(rest);
        this.sent = join(this.sent, rest.subarray(0, count));
        rest = rest.subarray(count);
      } catch {
        return false;
      } finally {
        clearTimeout(stuck);
      }
    }
    return true;
  }

  /** A Mismatch at byte `at` of what has come, with `note` after the caret. */
  fail(message: string, at: number, note: string): Mismatch {
    return new Mismatch(message, this.sent, this.writes, this.got, at, note, this.state);
  }

  /** Fails if any byte of an answer has come yet: the request is not whole. */
  nothingYet(message: string): void {
    if (this.got.length > this.at) {
      throw this.fail(message, this.at, "expected nothing yet: the request is not whole");
    }
  }

  /** Reads the next answer, and fails at the first byte that is not what `want` says. */
  async answer(want: Answer, ms: number = ANSWER_MS): Promise<Got> {
    const start = this.at;
    // The status line first: a wrong byte there fails at once, without waiting for the rest.
    const line = `HTTP/1.1 ${want.status} ` +
      (want.reason === undefined ? "" : want.reason + "\r\n");
    await this.until(() => this.got.length - start >= line.length || this.#headEnd(start) > 0, ms);
    const statusLine = latin1.decode(this.got.subarray(start, start + "HTTP/1.1 200".length));
    const code = /^HTTP\/1\.[01] (\d{3})$/.exec(statusLine)?.[1];
    const wrong = code !== undefined && Number(code) !== want.status;
    const what = wrong
      ? `The status should be ${want.status}, not ${code}`
      : "The status line is not right";
    this.#compare(start, encoder.encode(line), what);
    if (!(await this.until(() => this.#headEnd(start) > 0, ms))) this.#noHead(start, ms);
    const headEnd = this.#headEnd(start);
    const fields = this.#fields(start, headEnd);
    for (const [name, wanted] of Object.entries(want.fields ?? {})) {
      this.#field(fields, name.toLowerCase(), wanted, headEnd);
    }
    const status = want.status;
    const bodiless = want.head === true || status === 204 || status === 304;
    const framed = bodiless ? { body: new Uint8Array(0), end: headEnd } : undefined;
    const { body, end } = framed ?? await this.#body(fields, headEnd, ms);
    this.at = end;
    this.answered++;
    if (want.body !== undefined) this.#compareBody(body, headEnd, want.body);
    return { status, fields: fieldMap(fields), body, start, bodyStart: headEnd, end };
  }

  /**
   * Fails unless the server closes the connection, sending nothing more, within `ms`. `message`
   * says what was expected, when the check has more to say than that.
   */
  async closes(ms: number = ANSWER_MS, message?: string): Promise<void> {
    await this.until(() => this.got.length > this.at, ms);
    const expected = "The connection should close after this answer.";
    if (this.got.length > this.at) {
      const more = `${message ?? expected} More bytes came instead.`;
      throw this.fail(more, this.at, "expected the end here");
    }
    if (this.state === "open") {
      const late = message ?? `${expected} It was still open ${seconds(ms)} later.`;
      throw this.fail(late, this.at, "expected the connection to close here");
    }
  }

  /** Closes our end, and waits for the reading to stop. */
  async end(): Promise<void> {
    this.close();
    await this.#reading;
  }

  /** Closes our end (again is fine). */
  close(): void {
    if (this.state === "open") this.state = "ours";
    try {
      this.#conn.close();
    } catch {
      // closed already
    }
  }

  /** Where the head that starts at `start` ends (after its blank line); 0 if it has not yet. */
  #headEnd(start: number): number {
    const blank = find(this.got, "\r\n\r\n", start);
    return blank === -1 ? 0 : blank + 4;
  }

  /** Fails at the first byte from `start` that differs from `expected`, if one has come. */
  #compare(start: number, expected: Uint8Array, what: string): void {
    for (let i = 0; i < expected.length; i++) {
      const byte = this.got[start + i];
      if (byte === expected[i]) continue;
      const note = `expected ${quote(expected.subarray(i))}`;
      if (byte === undefined && i === 0) throw this.fail(this.#noAnswer(), start, note);
      const gone = byte === undefined ? this.#ending() : "";
      throw this.fail(`${what}${gone}.`, start + i, note);
    }
  }

  /** Why no answer came at all: how many came before, and how long the tester waited. */
  #noAnswer(): string {
    const before = this.answered === 0 ? "No answer" : `Only ${this.answered} answer`;
    const came = this.answered > 1 ? "s came" : " came";
    // When the server closed, the picture of the bytes says so.
    if (this.state !== "open") return `${before}${came}.`;
    return `${before}${came} within ${seconds(ANSWER_MS)}.`;
  }

  /** Why an answer stopped short: the server closed, or took too long. */
  #ending(): string {
    if (this.state === "closed") return ": the server closed the connection";
    if (this.state === "reset") return ": the server reset the connection";
    return `: nothing more came within ${seconds(ANSWER_MS)}`;
  }

  /** Fails for a head that never ended: where a bare LF is, if there is one, else at the end. */
  #noHead(start: number, ms: number): never {
    const bare = this.got.findIndex((byte, i) =>
      i > start && byte === LF && this.got[i - 1] !== CR
    );
    if (bare !== -1) {
      throw this.fail(
        "Each line of a head ends in \\r\\n.",
        bare,
        "expected \\r\\n, not a bare \\n",
      );
    }
    const why = this.state === "open"
      ? `no blank line (\\r\\n\\r\\n) ended the head within ${seconds(ms)}`
      : "the connection ended before the blank line (\\r\\n\\r\\n) that ends a head";
    throw this.fail(`The answer is not whole: ${why}.`, this.got.length, "expected more here");
  }

  /** The field lines of the head in [start, headEnd), each with where its value starts. */
  #fields(start: number, headEnd: number): Field[] {
    const fields: Field[] = [];
    let lineStart = find(this.got, "\r\n", start) + 2;
    while (lineStart < headEnd - 2) {
      const lineEnd = find(this.got, "\r\n", lineStart);
      const line = latin1.decode(this.got.subarray(lineStart, lineEnd));
      const colon = line.indexOf(":");
      if (colon <= 0) {
        throw this.fail(
          "A field line is a name, a colon and a value.",
          lineStart,
          "expected a field",
        );
      }
      const spaces = line.slice(colon + 1).length - line.slice(colon + 1).trimStart().length;
      const valueAt = lineStart + colon + 1 + spaces;
      const name = line.slice(0, colon).toLowerCase();
      fields.push({ name, value: line.slice(colon + 1).trim(), valueAt, lineStart });
      lineStart = lineEnd + 2;
    }
    return fields;
  }

  /** Fails if the field `name` is not as wanted. */
  #field(fields: Field[], name: string, wanted: Want, headEnd: number): void {
    const found = fields.find((field) => field.name === name);
    const value = fieldMap(fields).get(name) ?? null;
    // A field that is missing is pointed at where it should have been: before the blank line.
    if (found === undefined && typeof wanted !== "function") {
      const note = `expected a ${name} field before this blank line`;
      throw this.fail(`The answer has no ${name} field.`, headEnd - 2, note);
    }
    const where = found?.valueAt ?? headEnd - 2;
    if (typeof wanted === "string" && value !== wanted) {
      const differs = [...wanted].findIndex((char, i) => value![i] !== char);
      const at = where + (differs === -1 ? wanted.length : differs);
      throw this.fail(`The ${name} field is not right.`, at, `expected ${quote(wanted)}`);
    }
    if (wanted instanceof RegExp && !wanted.test(value!)) {
      throw this.fail(`The ${name} field should match ${wanted}.`, where, "here");
    }
    const complaint = typeof wanted === "function" ? wanted(value) : undefined;
    if (complaint === undefined) return;
    const note = found === undefined ? `expected a ${name} field before this blank line` : "here";
    throw this.fail(complaint, where, note);
  }

  /** Reads the body as the head frames it (RFC 9112 6.3); returns it and where the answer ends. */
  async #body(fields: Field[], headEnd: number, ms: number): Promise<Framed> {
    const values = fieldMap(fields);
    const coding = values.get("transfer-encoding");
    const length = values.get("content-length");
    if (coding !== undefined && /chunked/i.test(coding)) return await this.#chunks(headEnd, ms);
    if (length !== undefined) {
      const lengthAt = fields.find((field) => field.name === "content-length")!.valueAt;
      if (!/^\d+$/.test(length)) {
        throw this.fail("A Content-Length is digits.", lengthAt, "expected a number of bytes");
      }
      const end = headEnd + Number(length);
      if (!(await this.until(() => this.got.length >= end, ms))) {
        const short = `Content-Length promised ${length} bytes; ${this.got.length - headEnd} came`;
        throw this.fail(`${short}${this.#ending()}.`, this.got.length, "expected more here");
      }
      return { body: this.got.slice(headEnd, end), end };
    }
    // With neither, the body runs to the close (RFC 9112 6.3): a kept-alive answer can't do that.
    if (!(await this.until(() => false, ms)) && this.state === "open") {
      const message = "Nothing says where the body ends: send a Content-Length field.";
      throw this.fail(message, headEnd - 2, "expected a content-length field before this line");
    }
    return { body: this.got.slice(headEnd), end: this.got.length };
  }

  /** Reads a chunked body (RFC 9112 7.1): sizes in hex, the chunks, a last chunk of size 0. */
  async #chunks(headEnd: number, ms: number): Promise<Framed> {
    const parts: Uint8Array[] = [];
    let at = headEnd;
    while (true) {
      if (!(await this.until(() => find(this.got, "\r\n", at) !== -1, ms))) {
        throw this.fail(`A chunk size line never ended${this.#ending()}.`, this.got.length, "here");
      }
      const lineEnd = find(this.got, "\r\n", at);
      const size = parseInt(latin1.decode(this.got.subarray(at, lineEnd)), 16);
      if (Number.isNaN(size)) throw this.fail("A chunk starts with its size in hex.", at, "here");
      if (size === 0) {
        // The trailer fields, if any, and the blank line that ends them.
        const ended = () => find(this.got, "\r\n\r\n", lineEnd) !== -1;
        if (!(await this.until(ended, ms))) {
          throw this.fail(`The last chunk never ended${this.#ending()}.`, this.got.length, "here");
        }
        return { body: join(...parts), end: find(this.got, "\r\n\r\n", lineEnd) + 4 };
      }
      const end = lineEnd + 2 + size;
      if (!(await this.until(() => this.got.length >= end + 2, ms))) {
        throw this.fail(`A chunk is not whole${this.#ending()}.`, this.got.length, "here");
      }
      parts.push(this.got.slice(lineEnd + 2, end));
      at = end + 2;
    }
  }

  /** Fails at the first byte of the body that is not the one wanted. */
  #compareBody(body: Uint8Array, bodyStart: number, wanted: Piece): void {
    const expected = typeof wanted === "string" ? encoder.encode(wanted) : wanted;
    const length = Math.max(body.length, expected.length);
    for (let i = 0; i < length; i++) {
      if (body[i] === expected[i]) continue;
      const rest = quote(expected.subarray(i));
      const note = i < expected.length ? `expected ${rest}` : "expected the body to end here";
      const message =
        `The body is not right: ${expected.length} bytes expected, ${body.length} came.`;
      throw this.fail(message, bodyStart + i, note);
    }
  }
}

/** A body as it came, and where its answer ends in the bytes got. */
type Framed = { body: Uint8Array; end: number };

/** A field line of an answer: its name in lowercase, its value, and where they are. */
type Field = { name: string; value: string; valueAt: number; lineStart: number };

/** Field values by name; a field sent more than once is one list, joined with ", ". */
function fieldMap(fields: Field[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const { name, value } of fields) {
    map.set(name, map.has(name) ? `${map.get(name)}, ${value}` : value);
  }
  return map;
}

/** The bytes of the parts, one after the other. */
function join(...parts: Uint8Array[]): Uint8Array {
  const whole = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    whole.set(part, offset);
    offset += part.length;
  }
  return whole;
}

/** Where the ASCII text `pattern` first is in `bytes`, from `from` on; -1 if nowhere. */
function find(bytes: Uint8Array, pattern: string, from: number): number {
  const first = pattern.charCodeAt(0);
  for (let i = bytes.indexOf(first, from); i !== -1; i = bytes.indexOf(first, i + 1)) {
    let matches = true;
    for (let j = 1; j < pattern.length && matches; j++) {
      matches = bytes[i + j] === pattern.charCodeAt(j);
    }
    if (matches) return i;
  }
  return -1;
}

/** The most bytes that a note after a caret quotes. */
const MAX_QUOTED = 40;

/** Text or bytes in quotes, escaped as the pictures are, cut after MAX_QUOTED bytes. */
function quote(piece: Piece): string {
  const bytes = typeof piece === "string" ? encoder.encode(piece) : piece;
  const shown = [...bytes.subarray(0, MAX_QUOTED)].map(escapeByte).join("");
  return `"${shown}${bytes.length > MAX_QUOTED ? "…" : ""}"`;
}

function seconds(ms: number): string {
  return `${ms / 1000} s`;
}

/** Rejects if `promise` has not settled within `ms`, naming `what` did not happen. */
async function deadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${seconds(ms)}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

// ================================================================================================
// Checks: data for exchange(), or a function of the wires it opens
// ================================================================================================

/** One thing the server must do. */
export type Check = {
  /** What it must do, as the pass or fail line says it. */
  name: string;
  /** Why, or a hint: printed when the check fails. */
  why: string;
  /** The conversation; `open()` connects a Wire, which the tester closes afterwards. */
  run: (open: () => Promise<Wire>) => Promise<void>;
};

/** An exercise: its title, and its checks in the order they run. */
export type Exercise = { title: string; checks: Check[] };

/** The common check: send the pieces on one connection, then read these answers, in order. */
export type Exchange = {
  /** What to send, piece by piece. */
  send: Piece | Piece[];
  /** The pause between pieces, so that the server reads them apart. */
  pauseMs?: number;
  /**
   * True if no answer may come before the last piece: the tester waits a little before it sends
   * that piece, and fails if an answer came.
   */
  waitsForLast?: boolean;
  /** The answers expected, in order. */
  answers: Answer[];
  /** "close": after the answers, the server must close the connection, and send nothing more. */
  then?: "close";
};

/** A check made of an Exchange. */
export function exchange(name: string, why: string, steps: Exchange): Check {
  return {
    name,
    why,
    async run(open) {
      const wire = await open();
      const pieces = [steps.send].flat();
      if (steps.waitsForLast) {
        await wire.send(pieces.slice(0, -1), steps.pauseMs);
        await sleep(QUIET_MS);
        wire.nothingYet("An answer came before the request was whole.");
        await wire.send(pieces.slice(-1));
      } else {
        await wire.send(pieces, steps.pauseMs);
      }
      for (const answer of steps.answers) await wire.answer(answer);
      if (steps.then === "close") await wire.closes();
    },
  };
}

/** A check that a request is refused with `status`, and the connection then closed. */
export function refuses(name: string, why: string, request: Piece, status = 400): Check {
  return exchange(name, why, { send: request, answers: [{ status }], then: "close" });
}

/** A request head: the request line, then each field line, then the blank line. */
export function head(requestLine: string, ...fields: string[]): string {
  return `${requestLine}\r\n${fields.map((field) => field + "\r\n").join("")}\r\n`;
}

/** The bytes of `text` one by one, for a server that must put up with short reads. */
export function byteByByte(text: string): string[] {
  return [...text];
}

// ================================================================================================
// Showing bytes: escaped, one line of the wire per line, a caret under the byte that is wrong
// ================================================================================================

/** The most characters of one line shown; a longer line is cut, around the caret. */
const MAX_COLUMNS = 96;

/** The most lines shown of what was sent or got. */
const MAX_LINES = 14;

/** How many lines before the caret's are shown, at most, when there are too many. */
const LINES_BEFORE_CARET = 8;

/** A byte as the tester shows it: \r, \n, \t and \\ escaped, other bytes not printable as \xHH. */
export function escapeByte(byte: number): string {
  if (byte === CR) return "\\r";
  if (byte === LF) return "\\n";
  if (byte === 9) return "\\t";
  if (byte === 92) return "\\\\";
  if (byte >= 0x20 && byte < 0x7f) return String.fromCharCode(byte);
  return "\\x" + byte.toString(16).padStart(2, "0");
}

/**
 * `bytes` as lines of escaped text, each line of the wire on a line of its own after `label`
 * (the next ones indented as far). With `caret`, a line with a ^ under byte `caret.at` follows
 * the line that holds it, then `caret.note`.
 */
export function picture(
  label: string,
  bytes: Uint8Array,
  caret?: { at: number; note: string },
): string[] {
  const indent = " ".repeat(label.length);
  // Each line of the wire: where it starts and ends (after its \n).
  const lines: [number, number][] = [];
  for (let start = 0; start < bytes.length;) {
    const lf = bytes.indexOf(LF, start);
    const end = lf === -1 ? bytes.length : lf + 1;
    lines.push([start, end]);
    start = end;
  }
  if (lines.length === 0) lines.push([0, 0]);
  // The caret's line: the one that holds its byte, or the last one when it is past the end.
  let caretLine = -1;
  if (caret !== undefined) {
    caretLine = lines.findIndex(([start, end]) => caret.at >= start && caret.at < end);
    if (caretLine === -1) caretLine = lines.length - 1;
  }
  // Which lines are shown: all that fit, else a window that holds the caret.
  let first = 0;
  if (lines.length > MAX_LINES && caretLine > LINES_BEFORE_CARET) {
    first = Math.min(caretLine - LINES_BEFORE_CARET, lines.length - MAX_LINES);
  }
  const last = Math.min(lines.length, first + MAX_LINES);
  const out: string[] = [];
  if (first > 0) out.push(`${label}… ${first} lines, ${lines[first][0]} bytes`);
  for (let i = first; i < last; i++) {
    const prefix = out.length === 0 ? label : indent;
    const [start, end] = lines[i];
    const shown = [...bytes.subarray(start, end)].map(escapeByte);
    if (bytes.length === 0) shown.push("(nothing)");
    const column = i === caretLine ? shown.slice(0, caret!.at - start).join("").length : 0;
    const [text, caretColumn] = cut(shown, column, end - start);
    out.push(prefix + text);
    if (i === caretLine) out.push(indent + " ".repeat(caretColumn) + "^ " + caret!.note);
  }
  if (last < lines.length) {
    const rest = bytes.length - lines[last][0];
    out.push(`${indent}… ${lines.length - last} more lines, ${rest} bytes`);
  }
  return out;
}

/** A line's escaped pieces, cut to MAX_COLUMNS around `column`; it, and the caret's column. */
function cut(shown: string[], column: number, bytes: number): [string, number] {
  const whole = shown.join("");
  if (whole.length <= MAX_COLUMNS) return [whole, column];
  // Cut at piece boundaries, so that no escape is shown in half.
  const keepBefore = MAX_COLUMNS / 3;
  let from = 0;
  let skipped = 0;
  while (column - skipped > keepBefore && from < shown.length) {
    skipped += shown[from].length;
    from++;
  }
  let to = from;
  let width = 0;
  while (to < shown.length && width + shown[to].length <= MAX_COLUMNS) {
    width += shown[to].length;
    to++;
  }
  const head = from > 0 ? "…" : "";
  const tail = to < shown.length ? `… (${bytes - to} more bytes on this line)` : "";
  return [head + shown.slice(from, to).join("") + tail, column - skipped + head.length];
}

/** How a failed check is printed: what was wrong, why it matters, and the bytes each way. */
export function describe(failure: Mismatch, why: string): string[] {
  const writes = failure.writes > 1 ? ` (in ${failure.writes} writes)` : "";
  return [
    ...wrap(failure.message),
    ...wrap(why),
    ...picture(`sent${writes}: `, failure.sent),
    ...picture("got: ", failure.got, { at: failure.at, note: failure.note }),
    ...(ENDINGS[failure.ended] === "" ? [] : [`     ${ENDINGS[failure.ended]}`]),
  ];
}

/** Text cut into lines of at most MAX_COLUMNS, between words. */
function wrap(text: string): string[] {
  const lines = [""];
  for (const word of text.split(" ")) {
    const line = lines[lines.length - 1];
    if (line !== "" && line.length + 1 + word.length > MAX_COLUMNS) lines.push(word);
    else lines[lines.length - 1] = line === "" ? word : `${line} ${word}`;
  }
  return lines;
}

/** What the picture of the bytes got says last, about how the connection stood. */
const ENDINGS: Record<Wire["state"], string> = {
  open: "",
  ours: "",
  closed: "(and then the server closed the connection)",
  reset: "(and then the server reset the connection)",
};

// ================================================================================================
// Running an exercise: start the server, run each check, stop the server
// ================================================================================================

/** The exercises, by number: their folders in exercises/. */
export const EXERCISES = [
  "01-bind-and-answer",
  "02-whole-head",
  "03-header-fields",
  "04-content-length",
  "05-chunked",
  "06-keep-alive",
  "07-limits",
  "08-routing",
  "09-delete-task",
  "10-timing",
  "11-rate-limit",
  "12-planted-bug",
];

/** The most lines of a server's output shown under a failed check: the last ones. */
const MAX_PRINTED_LINES = 20;

/** How a run ended: the checks that passed and failed, and everything it printed. */
export type Outcome = { passed: number; failed: number; output: string[] };

/** How to run an exercise: stop at the first failure; where each line printed goes. */
export type RunOptions = { failFast?: boolean; print?: (line: string) => void };

/** The exercise numbered `number` (from 1): its title and checks. */
export async function load(number: number): Promise<Exercise> {
  const folder = EXERCISES[number - 1];
  if (folder === undefined) {
    throw new Error(`There is no exercise ${number}: they go from 1 to ${EXERCISES.length}`);
  }
  const module = await import(`./${folder}/checks.ts`);
  return module.default as Exercise;
}

/** The starter's path for exercise `number`, from the project's root. */
export function starter(number: number): string {
  return `exercises/${EXERCISES[number - 1]}/starter.ts`;
}

/** Runs exercise `number`'s checks on the server in `file`, which it starts and stops. */
export async function runExercise(
  number: number,
  file: string,
  options: RunOptions = {},
): Promise<Outcome> {
  const output: string[] = [];
  const print = (line: string) => {
    output.push(line);
    options.print?.(line);
  };
  const exercise = await load(number);
  print(`Exercise ${number}, ${exercise.title}: ${file}`);
  const server = await startServer(file);
  let passed = 0;
  let failed = 0;
  try {
    if (server.port === undefined) {
      print(`  FAIL  starts, and prints "Listening on" once it listens`);
      for (const line of server.problem) print("        " + line);
      return { passed, failed: exercise.checks.length, output };
    }
    for (const check of exercise.checks) {
      const before = server.printed().length;
      const lines = await runCheck(check, server.port);
      // What the server printed meanwhile may say why it failed: its own logs, or an error.
      const printed = server.printed().slice(before).trimEnd();
      if (lines.length > 0 && printed !== "") {
        lines.push("Your server printed:", ...printed.split("\n").slice(-MAX_PRINTED_LINES));
      }
      print(`  ${lines.length === 0 ? "PASS" : "FAIL"}  ${check.name}`);
      for (const line of lines) print("        " + line);
      if (lines.length === 0) passed++;
      else failed++;
      if (lines.length > 0 && options.failFast) break;
      if (server.exited()) {
        print(`Your server has exited. It printed:`);
        for (const line of server.printed().split("\n").slice(-MAX_PRINTED_LINES)) {
          print("  " + line);
        }
        failed += exercise.checks.length - passed - failed;
        break;
      }
    }
  } finally {
    const note = await server.stop();
    if (note !== undefined) print(note);
  }
  print(`${passed} of ${exercise.checks.length} checks passed.`);
  return { passed, failed, output };
}

/** Runs one check on fresh connections; the lines that say why it failed, or none. */
async function runCheck(check: Check, port: number): Promise<string[]> {
  const wires: Wire[] = [];
  const open = async () => {
    const wire = await Wire.open(port);
    wires.push(wire);
    return wire;
  };
  try {
    await deadline(check.run(open), CHECK_MS, `the check "${check.name}"`);
    return [];
  } catch (err) {
    if (err instanceof Mismatch) return describe(err, check.why);
    const lines = [(err as Error).message ?? String(err), check.why];
    const wire = wires.at(-1);
    if (wire !== undefined) {
      lines.push(...picture("sent: ", wire.sent), ...picture("got: ", wire.got));
    }
    return lines;
  } finally {
    for (const wire of wires) await wire.end();
  }
}

/** A server started for the checks; without a `port`, it never listened: `problem` says why. */
type Started = {
  port?: number;
  problem: string[];
  exited: () => boolean;
  printed: () => string;
  /** Stops it; says so if it had to be killed. */
  stop: () => Promise<string | undefined>;
};

/** Starts `deno run --allow-net <file> --port N`, and waits until it prints "Listening on". */
async function startServer(file: string): Promise<Started> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", file, "--port", String(port)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let exited = false;
  const ready = Promise.withResolvers<void>();
  // What it prints on either pipe, in the order it comes.
  let log = "";
  const printed = () => log;
  const heard = () => {
    let seen = 0;
    return (all: string) => {
      log += all.slice(seen);
      seen = all.length;
      if (/Listening on/.test(log)) ready.resolve();
    };
  };
  const stdout = collect(child.stdout, heard());
  const stderr = collect(child.stderr, heard());
  const status = child.status.then((status) => {
    exited = true;
    return status;
  });
  const outcome = await deadline(
    Promise.race([ready.promise.then(() => "ready"), status.then(() => "exited")]),
    START_MS,
    "printing Listening on",
  ).catch(() => "late");
  const stop = async () => {
    const stopped = await stopProcess(child, file, { killIsExpected: true, graceMs: 2_000 });
    await deadline(
      Promise.all([stdout.ended, stderr.ended]),
      PIPE_MS,
      `the end of ${file}'s output`,
    );
    return stopped.killed ? "Your server did not exit on SIGTERM: it was killed." : undefined;
  };
  const problem = [
    outcome === "exited"
      ? `It exited before it listened.`
      : `It did not print "Listening on" within ${seconds(START_MS)}.`,
    "The tester waits for that line to know that the port is bound. It printed:",
    ...printed().split("\n").slice(-MAX_PRINTED_LINES),
  ];
  return {
    port: outcome === "ready" ? port : undefined,
    problem,
    exited: () => exited,
    printed,
    stop,
  };
}
