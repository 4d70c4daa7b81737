/**
 * The `Deno.serve` peer of the benchmark: serves ROOT on 127.0.0.1:PORT,
 * reading the file on every request (no cache): small files with
 * `Deno.readFile`, large ones streamed from `Deno.open`, as a minimal file
 * server on Deno would.
 *
 * `deno run --allow-net=127.0.0.1 --allow-read=ROOT deno_serve_peer.ts ROOT PORT`
 * @module
 */

const SMALL_FILE = 64 * 1024;
const TYPES: Record<string, string> = { html: "text/html; charset=utf-8" };

async function _serveFile(root: string, request: Request): Promise<Response> {
  let path: string;
  try {
    path = decodeURIComponent(new URL(request.url).pathname);
  } catch {
    return new Response("Bad Request", { status: 400 });
  }
  if (path.includes("..") || path.includes("\0")) return new Response("Forbidden", { status: 403 });
  const file = root + path;
  try {
    const info = await Deno.stat(file);
    if (!info.isFile) return new Response("Not Found", { status: 404 });
    const extension = path.slice(path.lastIndexOf(".") + 1);
    const headers = {
      "content-type": TYPES[extension] ?? "application/octet-stream",
      "content-length": String(info.size),
    };
    if (info.size <= SMALL_FILE) return new Response(await Deno.readFile(file), { headers });
    const handle = await Deno.open(file);
    return new Response(handle.readable, { headers });
  } catch {
    return new Response("Not Found", { status: 404 });
  }
}

if (import.meta.main) {
  const [root, port] = Deno.args;
  Deno.serve({
    hostname: "127.0.0.1",
    port: Number(port),
    onListen: ({ port }) => console.log(`Deno.serve peer on ${port}`),
  }, (request) => _serveFile(root, request));
}
