// (a) the baseline: Deno.serve with the routes matched by hand. deno run -A bench/servers/raw.ts --port 8000
const port = Number(Deno.args[Deno.args.indexOf("--port") + 1] ?? 8000);
const USER = /^\/users\/([^/]+)$/;

Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, async (req) => {
  const path = req.url.slice(req.url.indexOf("/", 8)); // "http://host:port/path": the path starts after the host
  if (req.method === "GET" && path === "/") return new Response("Hello, World!");
  if (req.method === "GET" && path === "/json") return Response.json({ message: "Hello, World!" });
  const user = req.method === "GET" ? USER.exec(path) : null;
  if (user) return Response.json({ id: decodeURIComponent(user[1]) });
  if (req.method === "POST" && path === "/echo") {
    return new Response(await req.bytes(), {
      headers: { "content-type": "application/octet-stream" },
    });
  }
  return new Response("Not Found", { status: 404 });
});
