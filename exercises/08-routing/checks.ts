// Exercise 8's checks: a small route table answers by method and path; a path with no route is
// 404, a known path with another method 405 with Allow, and HEAD is GET without the body.
import { type Check, exchange, head, type Want } from "../tester.ts";

const HELLO = { status: 200, fields: { "content-length": "13" }, body: "Hello, World!" };

/** A request with no body, on a connection that stays open. */
function request(method: string, target: string): string {
  return head(`${method} ${target} HTTP/1.1`, "Host: localhost");
}

/** A want for an Allow field that lists every method in `must` and none in `mustNot`. */
function allows(must: string[], mustNot: string[]): Want {
  return (value) => {
    if (value === null) {
      return "A 405 answer must have an Allow field: the methods the path has (RFC 9110 15.5.6).";
    }
    const methods = value.split(",").map((method) => method.trim());
    const missing = must.filter((method) => !methods.includes(method));
    if (missing.length > 0) return `Allow should list ${missing.join(" and ")}.`;
    const wrong = mustNot.filter((method) => methods.includes(method));
    if (wrong.length > 0) return `Allow should not list ${wrong.join(" or ")}.`;
  };
}

const checks: Check[] = [
  exchange(
    "answers 404 Not Found for a path that no route has",
    "The routes are GET /, GET /hello/:name and POST /echo; any other path is 404.",
    { send: request("GET", "/nowhere"), answers: [{ status: 404 }] },
  ),
  exchange(
    "greets the name in GET /hello/:name",
    'A ":name" in a pattern matches one segment of the path, and the handler gets it.',
    { send: request("GET", "/hello/Ada"), answers: [{ status: 200, body: "Hello, Ada!" }] },
  ),
  exchange(
    "decodes the name, and counts Content-Length in bytes: Hello, Jörg! is 13",
    'A path is percent-encoded: "J%C3%B6rg" is "Jörg" (decodeURIComponent). In UTF-8, ö takes ' +
      "two bytes: Content-Length counts bytes, not the string's length.",
    {
      send: request("GET", "/hello/J%C3%B6rg"),
      answers: [{ status: 200, fields: { "content-length": "13" }, body: "Hello, Jörg!" }],
    },
  ),
  exchange(
    "refuses a malformed %-escape in the name with 400",
    'decodeURIComponent("%zz") throws: that is the client\'s mistake (400), not a crash (500).',
    { send: request("GET", "/hello/%zz"), answers: [{ status: 400 }] },
  ),
  exchange(
    "answers 404 for paths that only begin like a route: /hello, /hello/, /hello/a/b, /echo/x",
    "A pattern matches the whole path, segment by segment: :name is one segment, and not an " +
      "empty one.",
    {
      send: request("GET", "/hello") + request("GET", "/hello/") + request("GET", "/hello/a/b") +
        request("POST", "/echo/x"),
      answers: [{ status: 404 }, { status: 404 }, { status: 404 }, { status: 404 }],
    },
  ),
  exchange(
    "leaves the query string out of the path: GET /?page=2 is GET /",
    'The path ends at the "?": what follows is the query (RFC 3986 3.4).',
    { send: request("GET", "/?page=2"), answers: [HELLO] },
  ),
  exchange(
    "answers DELETE / with 405, and Allow: GET, HEAD",
    "A path that has routes, but not for this method, is 405 Method Not Allowed, and the Allow " +
      "field lists the methods it has (RFC 9110 15.5.6). GET comes with HEAD.",
    {
      send: request("DELETE", "/"),
      answers: [{ status: 405, fields: { allow: allows(["GET", "HEAD"], ["DELETE", "POST"]) } }],
    },
  ),
  exchange(
    "answers GET /echo with 405, and Allow: POST",
    "/echo has a POST route only.",
    {
      send: request("GET", "/echo"),
      answers: [{ status: 405, fields: { allow: allows(["POST"], ["GET", "HEAD"]) } }],
    },
  ),
  exchange(
    "answers HEAD / like GET /, with the same Content-Length and no body",
    "HEAD gets the fields GET would, Content-Length too, but no body (RFC 9110 9.3.2). The " +
      "tester sends a GET right after the HEAD: a body there would be read as the next answer.",
    {
      send: request("HEAD", "/") + request("GET", "/"),
      answers: [{ status: 200, fields: { "content-length": "13" }, head: true }, HELLO],
    },
  ),
  exchange(
    "keeps the connection open after a 404 and a 405",
    "A 404 or a 405 is an answer like any other: the request was well formed, and the next one " +
      "can follow on the same connection.",
    {
      send: request("GET", "/nowhere") + request("DELETE", "/") + request("GET", "/"),
      answers: [{ status: 404 }, { status: 405 }, HELLO],
    },
  ),
];

export default { title: "routing: 404, 405 and Allow, and HEAD", checks };
