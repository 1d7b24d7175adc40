// Exercise 3's checks: the request line and the field lines are parsed by the grammar of RFC 9112,
// and a request that breaks it gets 400 Bad Request.
import { type Check, exchange, head, refuses } from "../tester.ts";

const HELLO = { status: 200, fields: { "content-length": "13" }, body: "Hello, World!" };

/** A check that this head is served: Hello, World!, then the close. */
function serves(name: string, why: string, request: string): Check {
  return exchange(name, why, { send: request, answers: [HELLO], then: "close" });
}

/** A head with a good request line and Host, and `field` among its fields. */
function withField(field: string): string {
  return head("GET / HTTP/1.1", "Host: localhost", field, "Connection: close");
}

const checks: Check[] = [
  serves(
    "takes field names in any case: hOsT, CONNECTION",
    "Field names are case-insensitive (RFC 9110 5.1): compare them in lowercase.",
    head("GET / HTTP/1.1", "hOsT: localhost", "CONNECTION: close"),
  ),
  serves(
    "takes spaces and tabs around a value",
    "The spaces and tabs around a value are not part of it (RFC 9112 5): trim them.",
    head("GET / HTTP/1.1", "Host: \t localhost \t", "Connection: close"),
  ),
  serves(
    "serves HTTP/1.0 without a Host field",
    "HTTP/1.0 came before Host: only HTTP/1.1 requires one (RFC 9112 3.2).",
    head("GET / HTTP/1.0"),
  ),
  serves(
    "ignores an empty line before the request line",
    "A server should ignore at least one empty line before a request (RFC 9112 2.2).",
    "\r\n" + head("GET / HTTP/1.1", "Host: localhost", "Connection: close"),
  ),
  refuses(
    "refuses a space before the colon with 400",
    "No space is allowed between a field's name and its colon (RFC 9112 5.1): a proxy that " +
      'drops it reads "X-Test" where you may read "X-Test ": smuggling starts there.',
    withField("X-Test : 1"),
  ),
  refuses(
    "refuses a field line with no colon with 400",
    "A field line is a name, a colon, and a value (RFC 9112 5).",
    withField("X-Test 1"),
  ),
  refuses(
    "refuses a line folded onto the next (obs-fold) with 400",
    "A field line that starts with a space or a tab continues the one before: that is " +
      "obs-fold, which a server must refuse or unfold (RFC 9112 5.2). Refuse it.",
    withField("X-Test: a\r\n b"),
  ),
  refuses(
    "refuses a NUL in a field value with 400",
    "A value is visible characters, spaces and tabs (RFC 9110 5.5): no CR, LF or NUL.",
    withField("X-Test: a\x00b"),
  ),
  refuses(
    "refuses a field line that ends in a bare \\n with 400",
    "Every line ends in \\r\\n (RFC 9112 2.2). Split lines at \\r\\n only: a bare \\n left in a " +
      "line makes it malformed, and a server that ends lines there can see other requests " +
      "in the same bytes than its neighbour does.",
    withField("X-Test: 1\nX-Other: 2"),
  ),
  refuses(
    "refuses HTTP/1.1 without a Host field with 400",
    "An HTTP/1.1 request must have a Host field (RFC 9112 3.2).",
    head("GET / HTTP/1.1", "Connection: close"),
  ),
  refuses(
    "refuses two Host fields with 400",
    "A request with more than one Host field must get 400 (RFC 9112 3.2).",
    head("GET / HTTP/1.1", "Host: localhost", "Host: example.com", "Connection: close"),
  ),
  refuses(
    "refuses a request line with two spaces in a row with 400",
    "A request line is a method, a space, a target, a space and the version (RFC 9112 3).",
    head("GET  / HTTP/1.1", "Host: localhost", "Connection: close"),
  ),
];

export default { title: "header fields, and 400 for bad ones", checks };
