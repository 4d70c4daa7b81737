// The hot-file cache never serves a changed file for longer than its TTL.
import { join } from "node:path";
import { assertEquals } from "./_assert.ts";
import { get, roundTrip, withBastion } from "./_harness.ts";

Deno.test("a cached file is checked again after --file-cache-ttl and served fresh", async () => {
  await withBastion({
    args: ["--file-cache-ttl", "200ms"],
    files: { "page.html": "<p>one</p>" },
  }, async (server) => {
    assertEquals((await roundTrip(server.port, get("/page.html"))).text(), "<p>one</p>");
    await Deno.writeTextFile(join(server.root, "page.html"), "<p>two, longer</p>");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const fresh = await roundTrip(server.port, get("/page.html"));
    assertEquals(fresh.text(), "<p>two, longer</p>");
    assertEquals(fresh.header("content-length"), "18");
    await Deno.remove(join(server.root, "page.html"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assertEquals((await roundTrip(server.port, get("/page.html"))).status, 404);
  });
});

Deno.test("--file-cache off reads the file on every request", async () => {
  await withBastion({ args: ["--file-cache", "off"], files: { "p.html": "a" } }, async (server) => {
    assertEquals((await roundTrip(server.port, get("/p.html"))).text(), "a");
    await Deno.writeTextFile(join(server.root, "p.html"), "bb");
    assertEquals((await roundTrip(server.port, get("/p.html"))).text(), "bb");
  });
});
