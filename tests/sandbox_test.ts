/**
 * Defence in depth (issue 6): each layer shown on its own.
 *
 * - Our checks alone: the normal server with the sandbox opened up
 *   (`--allow-read` of the whole temp tree) still refuses traversal and symlink
 *   escapes with 403.
 * - The sandbox alone: a test build in which an import map swaps our path
 *   checks (`src/guard/path_safety.ts`) and upload names
 *   (`src/handlers/upload_name.ts`) for the stand-ins in `tests/_unchecked/`.
 *   With the real permission flags, Deno refuses the read of `/etc/passwd`,
 *   of a file beside the web root, and the write outside the upload dir.
 *   The same build with wider flags does leak and does write, which proves the
 *   checks really were off.
 * - Symlinks: Deno checks `--allow-read` on the path as named, not on where a
 *   symlink leads. bastion resolves the real path first and opens only that,
 *   so the sandbox checks the link's target too; a test pins down the Deno
 *   behaviour that makes this necessary.
 * @module
 */

import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { assertEquals, assertNotMatch, assertTrue } from "./_assert.ts";
import { get, launchBastion, makeRoot, type RawResponse, roundTrip } from "./_harness.ts";

const SECRET = "top secret beside the web root\n";
const src = (path: string) => new URL(`../src/${path}`, import.meta.url).href;
const unchecked = (path: string) => new URL(`./_unchecked/${path}`, import.meta.url).href;

interface Layout {
  base: string;
  root: string;
  uploads: string;
}

/**
 * A temp tree: `<base>/www` (web root, with `link.txt` → the secret and
 * `etc` → /etc) and `<base>/outside/secret.txt`.
 */
async function layout(): Promise<Layout> {
  const { base, root, uploads } = await makeRoot({ copyResources: false });
  await Deno.writeTextFile(join(root, "index.html"), "<p>in the root</p>\n");
  await Deno.mkdir(join(base, "outside"));
  await Deno.writeTextFile(join(base, "outside", "secret.txt"), SECRET);
  await Deno.symlink(join(base, "outside", "secret.txt"), join(root, "link.txt"));
  await Deno.symlink("/etc", join(root, "etc"));
  return { base, root, uploads };
}

/** The import map of the test build: our checks swapped for no checks. */
async function uncheckedBuild(base: string): Promise<string> {
  const path = join(base, "unchecked-import-map.json");
  // An --import-map replaces deno.json's imports: keep those (the npm packages).
  const project = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      imports: {
        ...project.imports,
        [src("guard/path_safety.ts")]: unchecked("path_safety.ts"),
        [src("handlers/upload_name.ts")]: unchecked("upload_name.ts"),
      },
    }),
  );
  return `--import-map=${pathToFileURL(path).href}`;
}

/** Runs `fn` against a server started with `flags`, then stops it and removes the tree. */
async function withServer(
  at: Layout,
  flags: string[],
  fn: (port: number) => Promise<void>,
): Promise<void> {
  const server = await launchBastion(flags, ["--root", at.root, "--port", "0", "--ban", "off"]);
  try {
    await fn(server.port);
  } finally {
    await server.stop();
  }
}

function realFlags(at: Layout): string[] {
  return ["--allow-net", `--allow-read=${at.root}`, `--allow-write=${at.uploads}`];
}

async function fetchPath(port: number, path: string): Promise<RawResponse> {
  return await roundTrip(port, get(path));
}

function upload(body: string): string {
  return `POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\n\r\n${body}`;
}

/** The names in `dir`. */
async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

function assertNoLeak(response: RawResponse, label: string): void {
  assertNotMatch(response.text(), /top secret|root:/, `${label} leaked`);
}

const TRAVERSALS = [
  "/../outside/secret.txt",
  "/../../../../../../etc/passwd",
  "/%2e%2e/outside/secret.txt",
];

Deno.test("our checks alone: with the sandbox opened up, traversal and symlink escapes are 403", async () => {
  const at = await layout();
  try {
    // Read access to the whole temp tree and to /etc: only our checks stand in the way.
    const open = ["--allow-net", `--allow-read=${at.base},/etc`, `--allow-write=${at.uploads}`];
    await withServer(at, open, async (port) => {
      assertEquals((await fetchPath(port, "/index.html")).status, 200);
      for (const path of [...TRAVERSALS, "/link.txt", "/etc/passwd", "/etc/hostname"]) {
        const response = await fetchPath(port, path);
        assertEquals(response.status, 403, path);
        assertNoLeak(response, path);
      }
    });
  } finally {
    await Deno.remove(at.base, { recursive: true });
  }
});

Deno.test("the sandbox alone: with our checks swapped out, Deno refuses reads outside --allow-read", async () => {
  const at = await layout();
  const build = await uncheckedBuild(at.base);
  try {
    await withServer(at, [build, ...realFlags(at)], async (port) => {
      assertEquals((await fetchPath(port, "/index.html")).status, 200);
      for (const path of TRAVERSALS) {
        const response = await fetchPath(port, path);
        assertEquals(response.status, 403, path);
        assertNoLeak(response, path);
      }
    });
    // The control: the same build with read access beside the root does leak.
    const wider = ["--allow-net", `--allow-read=${at.base}`, `--allow-write=${at.uploads}`];
    await withServer(at, [build, ...wider], async (port) => {
      const response = await fetchPath(port, "/../outside/secret.txt");
      assertEquals(response.status, 200, "the test build has no path checks");
      assertEquals(response.text(), SECRET);
    });
  } finally {
    await Deno.remove(at.base, { recursive: true });
  }
});

Deno.test("the sandbox alone: an upload name that climbs out of the upload dir is refused by --allow-write, leaving nothing behind", async () => {
  const at = await layout();
  const build = await uncheckedBuild(at.base);
  try {
    await withServer(at, [build, ...realFlags(at)], async (port) => {
      const response = await roundTrip(port, upload('{"a":1}'));
      assertEquals(response.status, 500, response.text());
      assertNotMatch(response.text(), /NotCapable|at .*\.ts|escaped/, "no internals sent");
    });
    assertEquals(await entries(at.uploads), [], "no temporary file left");
    assertEquals(
      (await entries(at.root)).filter((name) => name.startsWith("escaped")),
      [],
      "nothing written outside the upload dir",
    );
    // The control: with write access to the whole root the same build writes outside.
    const wider = ["--allow-net", `--allow-read=${at.root}`, `--allow-write=${at.root}`];
    await withServer(at, [build, ...wider], async (port) => {
      assertEquals((await roundTrip(port, upload('{"a":2}'))).status, 201);
    });
    const escaped = (await entries(at.root)).filter((name) => name.startsWith("escaped"));
    assertEquals(escaped.length, 1, "the test build's names do leave the upload dir");
    assertEquals(await Deno.readTextFile(join(at.root, escaped[0])), '{"a":2}');
  } finally {
    await Deno.remove(at.base, { recursive: true });
  }
});

Deno.test("the sandbox alone: a symlink escape is refused, because bastion opens the real path, which --allow-read checks", async () => {
  const at = await layout();
  const build = await uncheckedBuild(at.base);
  try {
    await withServer(at, [build, ...realFlags(at)], async (port) => {
      for (const path of ["/link.txt", "/etc/passwd", "/etc/hostname"]) {
        const response = await fetchPath(port, path);
        assertEquals(response.status, 403, path);
        assertNoLeak(response, path);
      }
    });
    // The control: with read access beside the root, the same build follows the link.
    const wider = ["--allow-net", `--allow-read=${at.base}`, `--allow-write=${at.uploads}`];
    await withServer(at, [build, ...wider], async (port) => {
      const response = await fetchPath(port, "/link.txt");
      assertEquals(response.status, 200, "the test build has no real-path check");
      assertEquals(response.text(), SECRET);
    });
  } finally {
    await Deno.remove(at.base, { recursive: true });
  }
});

Deno.test("Deno checks --allow-read on the path as named: reading through a link is allowed", async () => {
  // Why bastion opens the resolved real path rather than the requested one:
  // a read through the link's own name passes the sandbox.
  const at = await layout();
  try {
    const script = `console.log(await Deno.readTextFile(${
      JSON.stringify(join(at.root, "link.txt"))
    }))`;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-prompt", `--allow-read=${at.root}`, script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertTrue(output.success, new TextDecoder().decode(output.stderr));
    assertEquals(new TextDecoder().decode(output.stdout), SECRET + "\n");
  } finally {
    await Deno.remove(at.base, { recursive: true });
  }
});

// Keeps the stand-ins' module shape in step with the real modules.
Deno.test("the unchecked stand-ins export exactly what the real modules export", async () => {
  for (
    const [real, standIn] of [["guard/path_safety.ts", "path_safety.ts"], [
      "handlers/upload_name.ts",
      "upload_name.ts",
    ]]
  ) {
    const realExports = Object.keys(await import(src(real))).sort();
    const standInExports = Object.keys(await import(unchecked(standIn))).sort();
    assertEquals(standInExports, realExports, real);
  }
});
