/**
 * The fuzzer's inputs: a seeded random number generator, a corpus of valid requests (and a few
 * known smuggling attempts), and the mutations made to them. Input number `index` of a run with
 * seed `seed` is always the same bytes, split into the same writes: a reproducer is the two numbers.
 *
 * Bytes are kept as "binary strings", one character per byte (0 to 255), ISO 8859-1 style:
 * easy to slice and search, and JSON.stringify prints any of them for a reproducer.
 * @module
 */

/** mulberry32: a small, fast 32-bit generator, good enough to pick mutations (not for secrets). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random choices, all drawn from one mulberry32 stream. */
export class Random {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }
  /** A whole number from 0 to `n - 1`. */
  int(n: number): number {
    return Math.floor(this.#next() * n);
  }
  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.#next() < p;
  }
  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/**
 * The seed of input `index` in a run with `seed`: each input gets a stream of its own, so any one
 * of them can be made again without making those before it.
 */
export function inputSeed(seed: number, index: number): number {
  // splitmix32's finaliser over the pair: nearby indices give unrelated streams.
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A binary string's bytes. */
export function toBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}

/**
 * Bytes as a binary string. (Not TextDecoder("latin1"): the Encoding standard makes that label
 * windows-1252, which turns bytes 0x80 to 0x9f into other characters, 0x80 into "€".)
 */
export function fromBytes(bytes: Uint8Array): string {
  let text = "";
  // fromCharCode takes its bytes as arguments: a few thousand at a time stays within the stack.
  for (let at = 0; at < bytes.length; at += 4096) {
    text += String.fromCharCode(...bytes.subarray(at, at + 4096));
  }
  return text;
}

// ---------------------------------------------------------------------------- the corpus

/** The Host every request of the corpus names. */
const HOST = "fuzz.test";

/** The path of the request hidden in input `index`'s body: the app counts each time it is answered. */
export function smuggledPath(index: number): string {
  return `/smuggled-${index}`;
}

/** A request in the corpus: a name for the report, and its bytes. */
export type Seed = { name: string; text: string };

/**
 * The requests that mutations start from, for input `index`: valid ones of every framing, and (at
 * the end) known smuggling attempts, each with a request hidden in its body.
 */
export function corpus(index: number): Seed[] {
  const hidden = `GET ${smuggledPath(index)} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
  const get = `GET /marker/${index}?q=1 HTTP/1.1\r\nHost: ${HOST}\r\nAccept: */*\r\n` +
    `User-Agent: fuzz\r\n\r\n`;
  const post = `POST /echo HTTP/1.1\r\nHost: ${HOST}\r\nContent-Type: text/plain\r\n` +
    `Content-Length: 11\r\n\r\nhello world`;
  const chunked = `POST /echo HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n` +
    `5;name=value\r\nhello\r\n6 ; q="a \\"quoted\\" value"\r\n world\r\n0;last\r\n` +
    `X-Checksum: 42\r\nX-Note: done\r\n\r\n`;
  const http10 = `GET /marker/${index} HTTP/1.0\r\n\r\n`;
  const http10KeepAlive = `GET /marker/${index} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`;
  const http10Post = `POST /echo HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello`;
  const head = `HEAD /marker/${index} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
  const expect = `POST /echo HTTP/1.1\r\nHost: ${HOST}\r\nExpect: 100-continue\r\n` +
    `Content-Length: 4\r\n\r\nping`;
  const hiddenInLength = `POST /echo HTTP/1.1\r\nHost: ${HOST}\r\n` +
    `Content-Length: ${hidden.length}\r\n\r\n${hidden}`;
  const size = hidden.length.toString(16);
  const hiddenInChunk =
    `POST /echo HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n` +
    `${size}\r\n${hidden}\r\n0\r\n\r\n`;
  return [
    { name: "GET", text: get },
    { name: "POST with Content-Length", text: post },
    { name: "chunked POST with extensions and trailers", text: chunked },
    { name: "HTTP/1.0 GET", text: http10 },
    { name: "HTTP/1.0 GET, keep-alive", text: http10KeepAlive },
    { name: "HTTP/1.0 POST", text: http10Post },
    { name: "HEAD", text: head },
    { name: "POST with Expect: 100-continue", text: expect },
    { name: "pipelined GET then POST", text: get + post },
    { name: "pipelined chunked POST then GET", text: chunked + get },
    { name: "a request hidden in a Content-Length body", text: hiddenInLength },
    { name: "a request hidden in a chunk", text: hiddenInChunk },
    // Known smuggling attempts: each hides `hidden` where one reading of the framing sees a body.
    {
      name: "attempt: Content-Length and Transfer-Encoding",
      text: `POST /echo HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 5\r\n` +
        `Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n${hidden}`,
    },
    {
      name: "attempt: two Content-Lengths",
      text: `POST /echo HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 0\r\n` +
        `Content-Length: ${hidden.length}\r\n\r\n${hidden}`,
    },
    {
      name: "attempt: chunked, identity",
      text: `POST /echo HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked, identity\r\n` +
        `\r\n0\r\n\r\n${hidden}`,
    },
    {
      name: "attempt: a chunk size past 64 bits",
      text: `POST /echo HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n` +
        `10000000000000000${size}\r\n${hidden}\r\n0\r\n\r\n`,
    },
  ];
}

// ---------------------------------------------------------------------------- mutations

/** Bytes to insert: the ones that end lines, end strings in C, and separate fields and names. */
const INSERTED = ["\r", "\n", "\0", " ", ":", "\r\n", "\t", "\r\n "];

/** Numbers that overflow, mislead or break a Content-Length or a chunk size. */
const HUGE = [
  "99999999999999999999",
  "18446744073709551617",
  "ffffffffffffffffff",
  "fffffffff",
  "100000000",
  "4294967296",
  "9007199254740993",
  "1048577",
  "00000000000000000005",
  "-1",
  "+5",
  "0x5",
  "1e3",
  "5 5",
  "5,6",
  "5, 5",
  "0",
];

/** How many bytes a stretched line grows by: around the limits on a chunk line, a request line, a head. */
const STRETCHES = [1000, 1030, 8150, 8200, 16_300, 16_400];

/** Framing fields to add to a head: alone, together, or in ways that two servers may read apart. */
const FRAMING = [
  "Content-Length: 5",
  "Content-Length: 0",
  "Content-Length: 1, 2",
  "Transfer-Encoding: chunked",
  "Transfer-Encoding: chunked, identity",
  "Transfer-Encoding: identity, chunked",
  "Transfer-Encoding: gzip",
  "Transfer-Encoding : chunked",
  "Transfer-Encoding:\tchunked",
  "Transfer-Encoding: chunked\r\n chunked",
];

/** Where the head ends in `text` (after its empty line), or its length if it has none. */
function headEnd(text: string): number {
  const end = text.indexOf("\r\n\r\n");
  return end === -1 ? text.length : end + 4;
}

/** A position in `text`, inside the head half of the time: that is where most parsing is. */
function position(random: Random, text: string): number {
  const limit = random.chance(0.5) ? headEnd(text) : text.length;
  return random.int(limit + 1);
}

/** Where numbers sit that frame a body: Content-Length values, and chunk sizes at a line's start. */
function framingNumbers(text: string): { at: number; length: number }[] {
  const found: { at: number; length: number }[] = [];
  for (const match of text.matchAll(/content-length:[ \t]*(\d+)/gi)) {
    found.push({ at: match.index + match[0].length - match[1].length, length: match[1].length });
  }
  for (const match of text.matchAll(/\r\n([\da-fA-F]+)[;\r ]/g)) {
    found.push({ at: match.index + "\r\n".length, length: match[1].length });
  }
  return found;
}

/** `text` with a framing field added after its request line, or after another field. */
function addFraming(random: Random, text: string): string {
  const lines = [...text.slice(0, headEnd(text)).matchAll(/\r\n/g)].map((m) => m.index + 2);
  if (lines.length < 2) return text;
  const at = random.pick(lines.slice(0, -1));
  return text.slice(0, at) + random.pick(FRAMING) + "\r\n" + text.slice(at);
}

/** A mutation: a name for the report, and what it does to a binary string. */
type Mutation = { name: string; apply: (random: Random, text: string) => string };

/** The mutations, each picked with the same chance. */
export const MUTATIONS: Mutation[] = [
  {
    name: "flip a bit",
    apply(random, text) {
      const at = random.int(text.length);
      const flipped = text.charCodeAt(at) ^ (1 << random.int(8));
      return text.slice(0, at) + String.fromCharCode(flipped) + text.slice(at + 1);
    },
  },
  {
    name: "insert CR, LF, NUL, space or colon",
    apply(random, text) {
      const at = position(random, text);
      return text.slice(0, at) + random.pick(INSERTED) + text.slice(at);
    },
  },
  {
    name: "a huge number in a framing field",
    apply(random, text) {
      const numbers = framingNumbers(text);
      if (numbers.length === 0) return addFraming(random, text);
      const { at, length } = random.pick(numbers);
      return text.slice(0, at) + random.pick(HUGE) + text.slice(at + length);
    },
  },
  { name: "add a framing field", apply: addFraming },
  {
    name: "truncate",
    apply(random, text) {
      return text.slice(0, 1 + random.int(text.length - 1));
    },
  },
  {
    name: "a CRLF made a bare LF",
    apply(random, text) {
      const ends = [...text.matchAll(/\r\n/g)].map((m) => m.index);
      if (ends.length === 0) return text;
      const at = random.pick(ends);
      return text.slice(0, at) + text.slice(at + 1);
    },
  },
  {
    name: "delete bytes",
    apply(random, text) {
      const at = random.int(text.length);
      return text.slice(0, at) + text.slice(at + 1 + random.int(4));
    },
  },
  {
    name: "repeat a head line",
    apply(random, text) {
      const head = text.slice(0, headEnd(text));
      const starts = [0, ...[...head.matchAll(/\r\n/g)].map((m) => m.index + 2)];
      const start = random.pick(starts.slice(0, -1));
      const end = head.indexOf("\r\n", start);
      if (end === -1) return text;
      return text.slice(0, end + 2) + text.slice(start, end + 2) + text.slice(end + 2);
    },
  },
  {
    name: "stretch a line, or the head, past a limit",
    apply(random, text) {
      // Just under and just over the limits (LIMITS and the chunk-size line's 1 KiB), or many fields.
      const at = position(random, text);
      const stretch = random.chance(0.2)
        ? "X-Many: fields\r\n".repeat(random.pick([99, 101]))
        : random.pick(["a", "0", ";", "/"]).repeat(random.pick(STRETCHES));
      return text.slice(0, at) + stretch + text.slice(at);
    },
  },
  {
    name: "a valid request after it",
    apply(random, text) {
      const next = random.pick(corpus(0).slice(0, 3)).text.replaceAll("/marker/0", "/marker/next");
      return text + next;
    },
  },
  {
    // Once a bug (FIELD_LINE backtracked in cubic time on this): a long run of spaces in a field's
    // value, then a byte a value can't hold, or a valid one.
    name: "a long run of spaces in a field, then maybe a bad byte",
    apply(random, text) {
      const at = text.indexOf(":") + 1;
      if (at === 0) return text;
      const spaces = " ".repeat(2000 + random.int(14_000));
      return text.slice(0, at) + spaces + random.pick(["\0", "\x7f", "\x01", "x"]) + text.slice(at);
    },
  },
];

/**
 * Mutations that trip bugs already reported in mod.ts, left out unless asked for (`--known-bugs`):
 * none open now. (The first was a run of spaces in a field's value, then a byte a value can't
 * hold: FIELD_LINE backtracked in cubic time on it. It is fixed, and that mutation is an ordinary
 * one now, "a long run of spaces in a field, then maybe a bad byte".)
 */
export const KNOWN_BUG_MUTATIONS: Mutation[] = [];

/** How many mutations an input gets, each count as often as it is listed. */
const MUTATION_COUNTS = [0, 1, 1, 1, 1, 1, 2, 2, 2, 3];

/** One input: its bytes, the writes they go in, and how it was made. */
export type Input = {
  index: number;
  seed: string;
  mutations: string[];
  /** The bytes, one character per byte. */
  text: string;
  /** Where each write after the first starts, and how many ms to wait before it. */
  writes: { at: number; pauseMs: number }[];
};

/** Input number `index` of a run with `seed`; with `knownBugs`, mutations that trip them too. */
export function makeInput(seed: number, index: number, knownBugs = false): Input {
  const mutations = knownBugs ? [...MUTATIONS, ...KNOWN_BUG_MUTATIONS] : MUTATIONS;
  const random = new Random(inputSeed(seed, index));
  const seeds = corpus(index);
  const base = random.pick(seeds);
  let text = base.text;
  const made: string[] = [];
  // One input in ten goes unchanged: the valid requests must be served, not only survived. Most
  // get one mutation, so that a good part of them is still valid, or nearly.
  const count = random.pick(MUTATION_COUNTS);
  for (let i = 0; i < count; i++) {
    const mutation = random.pick(mutations);
    text = mutation.apply(random, text);
    made.push(mutation.name);
  }
  if (text.length === 0) text = "\0";
  // A third of the inputs arrive in several writes, with a pause of 0 to 2 ms between.
  const writes: { at: number; pauseMs: number }[] = [];
  if (random.chance(1 / 3)) {
    const splits = new Set<number>();
    const count = 1 + random.int(4);
    for (let i = 0; i < count; i++) splits.add(1 + random.int(Math.max(1, text.length - 1)));
    for (const at of [...splits].sort((a, b) => a - b)) {
      if (at < text.length) writes.push({ at, pauseMs: random.int(3) });
    }
  }
  return { index, seed: base.name, mutations: made, text, writes };
}
