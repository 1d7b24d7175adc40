/**
 * The fuzzer's two readers, written apart from mod.ts, from RFC 9112's grammar:
 *
 * - `frameRequests` reads the bytes a client sent the way a strict server must, and says which
 *   requests are in them, in order: where each one ends, and so what is a body and what is a
 *   request. A request the server answers that this reader saw inside a body was smuggled.
 * - `readAnswers` reads what the server sent back, and refuses anything that is not HTTP/1.1: a bad
 *   status line or field, framing that contradicts itself, bytes after a "Connection: close" answer.
 *
 * Both work on binary strings (one character per byte), as the inputs do.
 * @module
 */
import { LIMITS } from "../mod.ts";

// ---------------------------------------------------------------------------- requests

// RFC 9112 3: method SP request-target SP HTTP-version. A method is a token (RFC 9110 5.6.2).
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const REQUEST_LINE = new RegExp(`^(${TOKEN}) ([\\x21-\\x7e]+) HTTP/([0-9])\\.([0-9])$`);

// RFC 9112 5: field-name ":" OWS field-value OWS, with no whitespace before the colon. The value's
// bytes are visible ASCII, spaces and tabs. (RFC 9110 5.5 also lets obs-text through, bytes 0x80 to
// 0xff, as opaque data; a server may refuse them, and groundwork does: so does this reader.) The OWS
// is trimmed after the match, not by the pattern: "[\t ]*(...*?)[\t ]*" backtracks in cubic time on
// a run of spaces that ends in a bad byte, the bug this fuzzer found in mod.ts.
const FIELD_LINE = new RegExp(`^(${TOKEN}):([\\t\\x20-\\x7e]*)$`);

// RFC 9112 7.1: chunk-size [ chunk-ext ] CRLF, where chunk-ext is *( BWS ";" BWS name [ BWS "=" BWS
// value ] ) and a value is a token or a quoted-string (RFC 9110 5.6.4). A size is held to 8 hex
// digits, as groundwork holds it: more than 4 GiB is past any body limit.
const QUOTED = `"(?:[\\t !#-\\[\\]-~]|\\\\[\\t -~])*"`;
const EXTENSION = `[\\t ]*;[\\t ]*${TOKEN}(?:[\\t ]*=[\\t ]*(?:${TOKEN}|${QUOTED}))?`;
const CHUNK_LINE = new RegExp(`^([0-9A-Fa-f]{1,8})(?:${EXTENSION})*$`);

// The Host a request must carry: a name or an IP address, maybe a port, as groundwork checks it.
// (A reader that took a Host the server refuses would go on framing bytes the server never reads.)
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z_.-]+)(:[0-9]{1,5})?$/;

// The limits a fuzzed server keeps (the defaults): past them it refuses, and so does this reader.
// (A reader that went on would frame bytes the server never reads; and the server names a request
// refused for its head "GET", whatever its method, which matters when it is a HEAD.)
const MAX_BODY_BYTES = LIMITS.maxBodyBytes;
const MAX_REQUEST_LINE = LIMITS.maxRequestLineBytes;
const MAX_HEADER_BYTES = LIMITS.maxHeaderBytes;
const MAX_HEADER_COUNT = LIMITS.maxHeaderCount;
const MAX_CHUNKS = 8192;
const MAX_CHUNK_LINE = 1024;

/** A request a strict server takes whole: its method, and its path as the URL parser makes it. */
export type Framed = { method: string; path: string };

/** What a strict reader makes of the bytes a client sent. */
export type Framing = {
  /** The requests taken whole, in order: each is answered. */
  requests: Framed[];
  /**
   * How the bytes end: "whole", every byte is in a request; "refused", a request after those is
   * malformed (it is answered 4xx, and the connection closes); "short", the last request is cut
   * short, and the server waits for the rest (then answers 408, and closes).
   */
  end: "whole" | "refused" | "short";
  /**
   * The method of the request refused or cut short, if its head was whole and valid; else the
   * server says GET. (A HEAD's answer has no body, a 4xx or a 408 included.)
   */
  refusedMethod?: string;
  /**
   * The number of the first request that ends the connection: "Connection: close", or HTTP/1.0
   * without "keep-alive" (RFC 9112 9.3). The server reads no further; this reader does, so that a
   * request answered past it is still one it has seen.
   */
  closesAfter?: number;
};

/** Thrown inside the reader: the bytes are malformed. */
class Refused {}
/** Thrown inside the reader: the bytes end before the request does. */
class Short {}

/** A position in the bytes, read a line or a count of bytes at a time. */
class Cursor {
  at = 0;
  constructor(readonly text: string) {}

  /** The next line without its CRLF. A bare LF is refused (RFC 9112 2.2). */
  line(max = Infinity): string {
    const lf = this.text.indexOf("\n", this.at);
    if (lf === -1) {
      if (this.text.length - this.at > max + 1) throw new Refused();
      throw new Short();
    }
    if (lf === this.at || this.text[lf - 1] !== "\r") throw new Refused();
    if (lf - 1 - this.at > max) throw new Refused();
    const line = this.text.slice(this.at, lf - 1);
    this.at = lf + 1;
    return line;
  }

  /** The next `count` bytes. */
  bytes(count: number): string {
    if (this.text.length - this.at < count) throw new Short();
    this.at += count;
    return this.text.slice(this.at - count, this.at);
  }
}

/**
 * Field lines up to the empty line, by lowercase name; a repeated field's values joined by ", ".
 * Their bytes (each line and its CRLF) and their count are held to the head's limits.
 */
function readFields(cursor: Cursor): Map<string, string> {
  const fields = new Map<string, string>();
  let bytes = 0;
  for (let count = 1;; count++) {
    const line = cursor.line(Math.max(0, MAX_HEADER_BYTES - bytes));
    if (line === "") break;
    if (count > MAX_HEADER_COUNT) throw new Refused();
    bytes += line.length + 2;
    const field = FIELD_LINE.exec(line);
    if (field === null) throw new Refused();
    const name = field[1].toLowerCase();
    // The class holds no whitespace but tab and space: trim() takes exactly the OWS.
    const value = field[2].trim();
    const before = fields.get(name);
    fields.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  return fields;
}

/** The body's framing (RFC 9112 6.3): read past it, or refuse a message whose end can't be known. */
function readBody(cursor: Cursor, fields: Map<string, string>, http10: boolean): void {
  const coding = fields.get("transfer-encoding");
  const length = fields.get("content-length");
  if (coding === undefined) {
    if (length === undefined) return;
    // A list of one value, repeated ("5, 5"), is that value; any other list is refused (6.3 5).
    const values = length.split(",").map((value) => value.trim());
    if (values.some((value) => value !== values[0])) throw new Refused();
    if (!/^[0-9]{1,15}$/.test(values[0])) throw new Refused();
    if (Number(values[0]) > MAX_BODY_BYTES) throw new Refused();
    cursor.bytes(Number(values[0]));
    return;
  }
  // Transfer-Encoding with Content-Length is refused (6.1: "ought to be handled as an error"), as
  // is Transfer-Encoding in HTTP/1.0 (6.1) and any coding but chunked alone (groundwork has no
  // other: 501).
  if (length !== undefined || http10 || !/^chunked$/i.test(coding)) throw new Refused();
  let total = 0;
  for (let chunks = 0;; chunks++) {
    const size = CHUNK_LINE.exec(cursor.line(MAX_CHUNK_LINE));
    if (size === null) throw new Refused();
    const count = parseInt(size[1], 16);
    if (count === 0) break;
    total += count;
    if (total > MAX_BODY_BYTES || chunks === MAX_CHUNKS) throw new Refused();
    cursor.bytes(count);
    // The chunk's data is followed by CRLF, nothing else.
    const rest = cursor.text.slice(cursor.at, cursor.at + 2);
    if (rest === "\r\n") cursor.at += 2;
    else if ("\r\n".startsWith(rest)) throw new Short();
    else throw new Refused();
  }
  // Trailer fields, held to a head's grammar (7.1.2).
  readFields(cursor);
}

/** Which requests are in `text`, as a strict server reads them, and how the bytes end. */
export function frameRequests(text: string): Framing {
  const requests: Framed[] = [];
  const cursor = new Cursor(text);
  let method = "GET";
  let closesAfter: number | undefined;
  try {
    while (cursor.at < text.length) {
      method = "GET";
      // Empty lines before a request line are ignored (RFC 9112 2.2).
      let line = cursor.line(MAX_REQUEST_LINE);
      while (line === "") line = cursor.line(MAX_REQUEST_LINE);
      const requestLine = REQUEST_LINE.exec(line);
      if (requestLine === null || requestLine[3] !== "1") throw new Refused();
      const http10 = requestLine[4] === "0";
      const fields = readFields(cursor);
      // HTTP/1.1 needs a Host (RFC 9112 3.2); the target is a path, or a whole URL (3.2.2).
      const host = fields.get("host") ?? (http10 ? "localhost" : "");
      if (!HOST.test(host)) throw new Refused();
      const target = requestLine[2];
      let url: URL | null = null;
      if (target.startsWith("/")) url = URL.parse(`http://${host}${target}`);
      if (/^https?:\/\/[^/]/i.test(target)) url = URL.parse(target);
      if (url === null) throw new Refused();
      method = requestLine[1];
      readBody(cursor, fields, http10);
      requests.push({ method, path: url.pathname });
      const options = (fields.get("connection") ?? "").toLowerCase().split(",").map((o) =>
        o.trim()
      );
      const closes = http10 ? !options.includes("keep-alive") : options.includes("close");
      if (closes) closesAfter ??= requests.length - 1;
    }
    return { requests, end: "whole", closesAfter };
  } catch (err) {
    // A request cut short is answered too, once the server stops waiting for it: 408.
    if (err instanceof Short) return { requests, end: "short", refusedMethod: method, closesAfter };
    if (err instanceof Refused) {
      return { requests, end: "refused", refusedMethod: method, closesAfter };
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------- answers

// RFC 9112 4: HTTP-version SP status-code SP [ reason-phrase ]; groundwork always speaks 1.1.
const STATUS_LINE = /^HTTP\/1\.1 ([1-5][0-9]{2}) ([\t\x20-\x7e]*)$/;

/** One answer as it came off the wire, read strictly. */
export type Answer = {
  status: number;
  /** Each field's values, by lowercase name. */
  fields: Map<string, string[]>;
  body: string;
  /** It said "Connection: close": nothing may follow it. */
  closes: boolean;
};

/** What a server sent back: the final answers, the interim ones counted, and any unfinished rest. */
export type Answers = {
  answers: Answer[];
  interim: number;
  /** Bytes of an answer not yet whole. Once the connection has closed, there must be none. */
  rest: string;
  /** The last answer's body is delimited by the close (no Content-Length, no chunks). */
  closeDelimited: boolean;
};

/** A server's bytes that are not HTTP/1.1, and why. */
export class BadAnswer extends Error {}

/** The one value of a field that must not be repeated, or undefined. */
function single(fields: Map<string, string[]>, name: string): string | undefined {
  const values = fields.get(name);
  if (values === undefined) return undefined;
  if (values.length > 1) throw new BadAnswer(`${name} sent ${values.length} times`);
  return values[0];
}

/** A chunked body (RFC 9112 7.1) from `at`: its data and where it ends, or undefined if not all in. */
function readChunked(text: string, at: number): { body: string; end: number } | undefined {
  let body = "";
  while (true) {
    const lineEnd = text.indexOf("\r\n", at);
    if (lineEnd === -1) return undefined;
    const sizeLine = text.slice(at, lineEnd);
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeLine)) throw new BadAnswer(`chunk size ${sizeLine}`);
    const size = parseInt(sizeLine, 16);
    at = lineEnd + 2;
    if (size === 0) break;
    if (text.length < at + size + 2) return undefined;
    body += text.slice(at, at + size);
    if (text.slice(at + size, at + size + 2) !== "\r\n") throw new BadAnswer("a chunk overran");
    at += size + 2;
  }
  // Trailer fields, then the empty line.
  while (true) {
    const lineEnd = text.indexOf("\r\n", at);
    if (lineEnd === -1) return undefined;
    const line = text.slice(at, lineEnd);
    at = lineEnd + 2;
    if (line === "") return { body, end: at };
    if (!FIELD_LINE.test(line)) throw new BadAnswer(`trailer ${JSON.stringify(line)}`);
  }
}

/**
 * Reads every answer in `text` strictly, or throws BadAnswer saying what is wrong. `isHead(k)` says
 * whether the k-th final answer is to a HEAD request, which has no body whatever its framing says.
 */
export function readAnswers(text: string, isHead: (k: number) => boolean): Answers {
  const answers: Answer[] = [];
  let interim = 0;
  let at = 0;
  while (at < text.length) {
    const headEnd = text.indexOf("\r\n\r\n", at);
    if (headEnd === -1) break;
    const [statusLine, ...lines] = text.slice(at, headEnd).split("\r\n");
    const status = STATUS_LINE.exec(statusLine);
    if (status === null) throw new BadAnswer(`status line ${JSON.stringify(statusLine)}`);
    const fields = new Map<string, string[]>();
    for (const line of lines) {
      const field = FIELD_LINE.exec(line);
      if (field === null) throw new BadAnswer(`field line ${JSON.stringify(line)}`);
      const name = field[1].toLowerCase();
      fields.set(name, [...fields.get(name) ?? [], field[2].trim()]);
    }
    const code = Number(status[1]);
    const length = single(fields, "content-length");
    const coding = single(fields, "transfer-encoding");
    const closes = /(^|,)[\t ]*close[\t ]*(,|$)/i.test(single(fields, "connection") ?? "");
    let bodyStart = headEnd + 4;
    // An interim answer is groundwork's 100 Continue: a status line, no fields, no body.
    if (code < 200) {
      if (code !== 100 || fields.size > 0) throw new BadAnswer(`interim ${statusLine}`);
      interim++;
      at = bodyStart;
      continue;
    }
    // An origin server with a clock sends a Date (RFC 9110 6.6.1).
    if (single(fields, "date") === undefined) throw new BadAnswer("no Date field");
    if (length !== undefined && coding !== undefined) {
      throw new BadAnswer("both Content-Length and Transfer-Encoding");
    }
    let body = "";
    let closeDelimited = false;
    if (code === 204 || code === 304) {
      // Neither has a body, nor a framing field for one (RFC 9110 8.6, 6.4.1).
      if (length !== undefined || coding !== undefined) throw new BadAnswer(`framing on ${code}`);
    } else if (coding !== undefined) {
      if (coding !== "chunked") throw new BadAnswer(`transfer-encoding ${coding}`);
      if (!isHead(answers.length)) {
        const chunked = readChunked(text, bodyStart);
        if (chunked === undefined) break;
        body = chunked.body;
        bodyStart = chunked.end;
      }
    } else if (length !== undefined) {
      if (!/^[0-9]{1,15}$/.test(length)) throw new BadAnswer(`content-length ${length}`);
      if (!isHead(answers.length)) {
        if (text.length < bodyStart + Number(length)) break;
        body = text.slice(bodyStart, bodyStart + Number(length));
        bodyStart += Number(length);
      }
    } else if (!isHead(answers.length)) {
      // No framing: the body runs to the close (RFC 9112 6.3 8), and the connection must close.
      body = text.slice(bodyStart);
      bodyStart = text.length;
      closeDelimited = true;
    }
    answers.push({ status: code, fields, body, closes });
    at = bodyStart;
    if (closeDelimited) return { answers, interim, rest: "", closeDelimited };
    if (closes && at < text.length) {
      throw new BadAnswer(`${text.length - at} bytes after a Connection: close answer`);
    }
  }
  return { answers, interim, rest: text.slice(at), closeDelimited: false };
}
