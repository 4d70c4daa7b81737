/**
 * The README's "Serve" commands, each run as written in a fresh copy of the
 * repository (Deno itself stands in for `npx --yes deno@VERSION`, and a free
 * port for the one written): every server answers `GET /` with 200 and stops
 * cleanly on SIGTERM.
 * @module
 */

import { join } from "node:path";
import { assertEquals, assertMatch, assertTrue } from "./_assert.ts";
import { BANNER, denortUnavailable, get, REPO, roundTrip, spawnProgram } from "./_harness.ts";
import { tlsRequest } from "./_tls.ts";

const NPX_DENO = `npx --yes deno@${(await Deno.readTextFile(join(REPO, ".deno-version"))).trim()}`;
/** Not copied: history, build output and local tool state. */
const SKIPPED = new Set([".git", "dist", ".tools", ".test-results", "node_modules"]);

/** The commands of the README's first `sh` block under "## Serve". */
function serveCommands(readme: string): string[] {
  const section = readme.slice(readme.indexOf("\n## Serve\n"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1];
  return block.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"));
}

const COMMANDS = serveCommands(await Deno.readTextFile(join(REPO, "README.md")));

/** A copy of the working tree, as a fresh clone would have it. */
async function freshCopy(): Promise<string> {
  const copy = await Deno.makeTempDir({ prefix: "bastion-readme-" });
  const walk = async (from: string, to: string) => {
    for await (const entry of Deno.readDir(from)) {
      if (SKIPPED.has(entry.name) || /\.pem$/.test(entry.name)) continue;
      if (entry.isDirectory) {
        await Deno.mkdir(join(to, entry.name));
        await walk(join(from, entry.name), join(to, entry.name));
      } else if (entry.isFile) await Deno.copyFile(join(from, entry.name), join(to, entry.name));
    }
  };
  await walk(REPO, copy);
  return copy;
}

/** Runs `line` with bash in `cwd`; the command replaces bash, so signals reach it. */
function shell(line: string, cwd: string) {
  const command = line.replaceAll(NPX_DENO, `'${Deno.execPath()}'`);
  return spawnProgram("bash", ["-c", `exec ${command}`], {}, cwd);
}

/** With a free port instead of the one written (a later flag wins). */
function onFreePort(line: string): string {
  return line.includes(" -- ") ? `${line} --port 0` : `${line} -- --port 0`;
}

async function serveAndGet(line: string, cwd: string): Promise<void> {
  const server = shell(line, cwd);
  try {
    const banner = (await server.waitForLog(BANNER)).match(BANNER)!;
    const port = Number(banner[1] ?? banner[2]);
    if (banner[0].includes("https://")) {
      const answer = await tlsRequest(
        port,
        await Deno.readTextFile(join(cwd, "cert.pem")),
        "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
      );
      assertMatch(answer, /^HTTP\/1\.1 200 OK\r\n/);
    } else {
      assertEquals((await roundTrip(port, get("/"))).status, 200);
    }
  } finally {
    assertEquals((await server.stop()).code, 0, `stopped cleanly: ${server.stderr()}`);
    assertMatch(server.stdout(), /bastion stopped/);
  }
}

async function run(line: string, cwd: string): Promise<void> {
  const process = shell(line, cwd);
  assertEquals((await process.status).code, 0, `${line}: ${process.stderr()}`);
}

Deno.test("the README's Serve section has the six examples in the issue's order", () => {
  const tasks = COMMANDS.filter((line) => line.startsWith(NPX_DENO));
  assertEquals(tasks.length, 6, COMMANDS.join("\n"));
  assertTrue(tasks.every((line) => / task (serve|compile)\b/.test(line)), tasks.join("\n"));
  assertMatch(tasks[1], /--root /);
  assertMatch(tasks[2], /--cert .* --key /);
  assertMatch(tasks[3], /--read-only/);
  assertMatch(tasks[4], /--workers /);
  assertMatch(tasks[5], / task compile /);
});

Deno.test("every README Serve command works as written in a fresh copy of the repository", async (t) => {
  const copy = await freshCopy();
  try {
    for (const line of COMMANDS) {
      const compile = / task compile /.test(line);
      const missing = compile ? denortUnavailable() : null;
      if (missing !== null) console.log(`README compile example skipped: ${missing}`);
      await t.step({
        name: line,
        ignore: missing !== null,
        fn: async () => {
          if (compile) {
            const [build, binary] = line.split(" && ");
            await run(build, copy);
            await serveAndGet(`${binary} --port 0`, copy);
          } else if (/ task serve\b/.test(line)) {
            await serveAndGet(onFreePort(line), copy);
          } else {
            await run(line, copy);
          }
        },
      });
    }
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
});
