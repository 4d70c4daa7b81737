// `deno task compile` builds dist/bastion with the permissions baked in; the
// binary is smoke-tested when a denort runtime is available, and the test is
// skipped with the reason printed when it is not. The binary is never faked.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assertEquals, assertMatch } from "./_assert.ts";
import { get, makeRoot, roundTrip } from "./_harness.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
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
    // The task's own command line, with only the output path changed.
    const task: string = JSON.parse(await Deno.readTextFile(join(REPO, "deno.json"))).tasks.compile;
    const args = task.replace(/^deno /, "").replace("--output dist/bastion", `--output ${output}`);
    const build = await new Deno.Command(Deno.execPath(), {
      args: args.split(" "),
      cwd: REPO,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(build.code, 0, new TextDecoder().decode(build.stderr));
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
