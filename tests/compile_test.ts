// `deno task compile` builds dist/bastion with the permissions baked in; the
// binary is smoke-tested when a denort runtime is available, and the test is
// skipped with the reason printed when it is not. The binary is never faked.
import { join } from "node:path";
import { assertEquals, assertMatch } from "./_assert.ts";
import {
  BANNER,
  denortUnavailable,
  get,
  makeRoot,
  roundTrip,
  spawnProgram,
  spawnTask,
} from "./_harness.ts";

const UPLOAD = "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
  "Content-Length: 2\r\n\r\n{}";

function _port(banner: string): number {
  const match = banner.match(BANNER)!;
  return Number(match[1] ?? match[2]);
}

const unavailable = denortUnavailable();
if (unavailable !== null) console.log(`compiled-binary test skipped: ${unavailable}`);

Deno.test({
  name: "the compiled binary serves, stores uploads, refuses traversal and exits 0 on SIGTERM",
  ignore: unavailable !== null,
  async fn() {
    const { base, root } = await makeRoot();
    const output = join(base, "bastion");
    // The README's command, with only the output path added.
    const build = spawnTask("compile", ["--output", output]);
    assertEquals((await build.status).code, 0, build.stderr());
    await Deno.rename(root, join(base, "resources"));
    const binary = spawnProgram(output, ["--port", "0"], {}, base);
    try {
      const port = _port(await binary.waitForLog(BANNER));
      assertMatch(binary.stdout(), /--allow-read=resources/);
      assertEquals((await roundTrip(port, get("/"))).status, 200);
      assertEquals((await roundTrip(port, get("/../etc/passwd"))).status, 403);
      assertEquals((await roundTrip(port, UPLOAD)).status, 201);
    } finally {
      assertEquals((await binary.stop()).code, 0);
      await Deno.remove(base, { recursive: true });
    }
  },
});

Deno.test({
  name: "deno task compile without a denort runtime ends with one line saying where to get one",
  ignore: unavailable === null,
  async fn() {
    const output = join(await Deno.makeTempDir({ prefix: "bastion-compile-" }), "bastion");
    const build = spawnTask("compile", ["--output", output]);
    assertEquals((await build.status).code !== 0, true, "the build cannot succeed");
    const lines = build.stderr().trimEnd().split("\n");
    assertEquals(lines.length, 1, build.stderr());
    assertMatch(lines[0], /^bastion: deno compile could not download Deno's runtime \(denort\)/);
    assertMatch(lines[0], new RegExp(`DENORT_BIN to the denort of Deno ${Deno.version.deno}`));
    assertEquals(await Deno.stat(output).catch(() => null), null, "no binary left behind");
  },
});

Deno.test("deno task compile with DENORT_BIN at a missing file says so in one line", async () => {
  const output = join(await Deno.makeTempDir({ prefix: "bastion-compile-" }), "bastion");
  const build = spawnTask("compile", ["--output", output], { DENORT_BIN: "/nonexistent/denort" });
  assertEquals((await build.status).code !== 0, true);
  assertEquals(
    build.stderr().trimEnd().split("\n").length,
    1,
    build.stderr(),
  );
  assertMatch(
    build.stderr(),
    /^bastion: DENORT_BIN=\/nonexistent\/denort is not a file: point it at/,
  );
});

Deno.test({
  name:
    "deno task compile -- --root DIR --read-only bakes those flags and exactly their permissions",
  ignore: unavailable !== null,
  async fn() {
    const { base, root } = await makeRoot({ files: { "index.html": "baked" } });
    await Deno.remove(join(root, "uploads"));
    const output = join(base, "bastion");
    const build = spawnTask("compile", ["--output", output, "--root", root, "--read-only"]);
    assertEquals((await build.status).code, 0, build.stderr());
    // Started with no flags but a port, from another directory.
    const binary = spawnProgram(output, ["--port", "0"], {}, base);
    try {
      const port = _port(await binary.waitForLog(BANNER));
      assertMatch(
        binary.stdout(),
        new RegExp(`permissions --allow-net --allow-read=${root}\\s*$`, "m"),
      );
      assertEquals((await roundTrip(port, get("/"))).text(), "baked");
      assertEquals((await roundTrip(port, UPLOAD)).status, 405);
    } finally {
      assertEquals((await binary.stop()).code, 0);
      await Deno.remove(base, { recursive: true });
    }
  },
});
