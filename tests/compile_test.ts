// `deno task compile` builds dist/bastion with the permissions baked in; the
// binary is smoke-tested when a denort runtime is available, and the test is
// skipped with the reason printed when it is not. The binary is never faked.
import { join } from "node:path";
import { assertEquals, assertMatch } from "./_assert.ts";
import { get, makeRoot, roundTrip, spawnTask } from "./_harness.ts";

const CACHED_DENORT = join(
  Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache", "deno"),
  "dl",
  "release",
  `v${Deno.version.deno}`,
  `denort-${Deno.build.target}.zip`,
);

function denortUnavailable(): string | null {
  if (Deno.env.get("DENORT_BIN")) return null;
  try {
    Deno.statSync(CACHED_DENORT);
    return null;
  } catch {
    return `no denort runtime: set DENORT_BIN, or let Deno cache ${CACHED_DENORT}`;
  }
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
    const child = new Deno.Command(output, {
      args: ["--port", "0"],
      cwd: base,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    let out = "";
    while (!/:(\d+)\//.test(out)) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    const port = Number(/:(\d+)\//.exec(out)![1]);
    try {
      assertMatch(out, /--allow-read=resources/);
      assertEquals((await roundTrip(port, get("/"))).status, 200);
      assertEquals((await roundTrip(port, get("/../etc/passwd"))).status, 403);
      const upload = await roundTrip(
        port,
        "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
          "Content-Length: 2\r\n\r\n{}",
      );
      assertEquals(upload.status, 201);
    } finally {
      child.kill("SIGTERM");
      assertEquals((await child.status).code, 0);
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});
      await child.stderr.cancel().catch(() => {});
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
    const child = new Deno.Command(output, {
      args: ["--port", "0"],
      cwd: base,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    let out = "";
    while (!/:(\d+)\/.*\n/.test(out)) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    try {
      const port = Number(/:(\d+)\//.exec(out)![1]);
      assertMatch(out, new RegExp(`permissions --allow-net --allow-read=${root}\\s*$`, "m"));
      const page = await roundTrip(port, get("/"));
      assertEquals(page.text(), "baked");
      const upload = await roundTrip(
        port,
        "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
          "Content-Length: 2\r\n\r\n{}",
      );
      assertEquals(upload.status, 405);
    } finally {
      child.kill("SIGTERM");
      assertEquals((await child.status).code, 0);
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});
      await child.stderr.cancel().catch(() => {});
      await Deno.remove(base, { recursive: true });
    }
  },
});
