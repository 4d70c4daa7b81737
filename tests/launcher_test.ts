/**
 * Integration tests for the README's commands (SPEC §1, §4): `deno task serve`
 * with any root and with TLS, run under exactly the permissions derived from
 * the flags; `--print-command`; `--read-only`; the serve task with the npm
 * registry unreachable once dependencies are cached.
 * @module
 */

import { join, relative } from "node:path";
import { assertEquals, assertMatch, assertNotMatch, assertTrue } from "./_assert.ts";
import {
  get,
  launchBastion,
  launchTask,
  makeRoot,
  REPO,
  roundTrip,
  spawnDeno,
  spawnProgram,
  spawnTask,
  WORKER_MODULES,
} from "./_harness.ts";
import { selfSigned, tlsRequest } from "./_tls.ts";

/** The banner's permission flags. */
function bannerPermissions(stdout: string): string {
  return /\| permissions (.*)$/m.exec(stdout)?.[1] ?? `no banner in: ${stdout}`;
}

/** Runs `deno task serve -- --print-command ARGS` and returns the printed line. */
async function printCommand(args: string[], env: Record<string, string> = {}): Promise<string> {
  const process = spawnTask("serve", ["--print-command", ...args], env);
  const status = await process.status;
  assertEquals(status.code, 0, process.stderr());
  const lines = process.stdout().trimEnd().split("\n");
  assertEquals(lines.length, 1, process.stdout());
  return lines[0];
}

const RUNTIME = "deno run --no-prompt --unstable-net --v8-flags=--max-semi-space-size=8";
/** Never a blanket grant, never a read of the whole file system. */
const TOO_BROAD =
  /(^| )(-A|--allow-all|--allow-read|--allow-write|--allow-run\S*|--allow-env)( |$)|=\/( |,|$)/;

Deno.test("deno task serve -- --root DIR serves DIR under exactly --allow-read=DIR --allow-write=DIR/uploads", async () => {
  const { base, root } = await makeRoot({ files: { "index.html": "<h1>elsewhere</h1>" } });
  const server = await launchTask("serve", ["--root", root, "--port", "0"]);
  try {
    const response = await roundTrip(server.port, get("/"));
    assertEquals(response.status, 200);
    assertEquals(response.text(), "<h1>elsewhere</h1>");
    assertEquals(
      bannerPermissions(server.stdout()),
      `--allow-net --allow-read=${root} --allow-write=${join(root, "uploads")}`,
    );
  } finally {
    assertEquals((await server.stop()).code, 0, "SIGTERM to the task stops the server cleanly");
    assertMatch(server.stdout(), /bastion stopped/);
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("deno task serve -- --cert --key --read-only serves HTTPS, reads only the root and the TLS files", async () => {
  const { base, root } = await makeRoot({ files: { "index.html": "tls ok" } });
  await Deno.remove(join(root, "uploads"));
  const tls = await selfSigned();
  const args = ["--root", root, "--cert", tls.cert, "--key", tls.key, "--read-only", "--port", "0"];
  const server = await launchTask("serve", args);
  try {
    assertMatch(server.stdout(), /listening on https:\/\/127\.0\.0\.1:\d+\//);
    const answer = await tlsRequest(
      server.port,
      await Deno.readTextFile(tls.cert),
      "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assertMatch(answer, /^HTTP\/1\.1 200 OK\r\n/);
    assertTrue(answer.endsWith("\r\n\r\ntls ok"), answer);
    assertEquals(
      bannerPermissions(server.stdout()),
      `--allow-net --allow-read=${root},${tls.cert},${tls.key}`,
    );
    assertMatch(server.stdout(), /\| uploads off \(read-only\) \|/);
    assertEquals(await Deno.stat(join(root, "uploads")).catch(() => null), null, "no upload dir");
  } finally {
    assertEquals((await server.stop()).code, 0);
    await Deno.remove(base, { recursive: true });
    await Deno.remove(tls.dir, { recursive: true });
  }
});

Deno.test("--print-command prints the exact deno run line with the least permissions and exits 0", async () => {
  const here = (path: string) => relative(REPO, path);
  const modules = WORKER_MODULES.map(here).join(",");
  const cases: [string[], string][] = [
    [[], `${RUNTIME} --allow-net --allow-read=resources --allow-write=resources/uploads main.ts`],
    [
      ["--root", "/srv/www", "--read-only"],
      `${RUNTIME} --allow-net --allow-read=/srv/www main.ts --root /srv/www --read-only`,
    ],
    [
      ["--root", "/srv/www", "--cert", "/etc/c.pem", "--key", "/etc/k.pem", "--port", "8443"],
      `${RUNTIME} --allow-net --allow-read=/srv/www,/etc/c.pem,/etc/k.pem ` +
      `--allow-write=/srv/www/uploads main.ts --root /srv/www --cert /etc/c.pem ` +
      `--key /etc/k.pem --port 8443`,
    ],
    [
      ["--root", "/srv/www", "--upload-dir", "/var/up", "--upload-token-file", "/etc/t"],
      `${RUNTIME} --allow-net --allow-read=/srv/www,/var/up,/etc/t --allow-write=/var/up ` +
      `main.ts --root /srv/www --upload-dir /var/up --upload-token-file /etc/t`,
    ],
    [
      ["--workers", "2", "--header", "X-Note: it's"],
      `${RUNTIME} --allow-net --allow-read=resources,${modules} ` +
      `--allow-write=resources/uploads main.ts --workers 2 --header 'X-Note: it'\\''s'`,
    ],
  ];
  for (const [args, expected] of cases) {
    const line = await printCommand(args);
    assertEquals(line, expected, args.join(" "));
    assertNotMatch(line, TOO_BROAD, line);
  }
  // A token in the environment is the one variable the server may read.
  assertMatch(
    await printCommand([], { BASTION_UPLOAD_TOKEN: "s3cret" }),
    / --allow-env=BASTION_UPLOAD_TOKEN main\.ts$/,
  );
});

Deno.test("the printed command, run as printed, serves with workers and nothing broader", async () => {
  const { base, root } = await makeRoot({ files: { "index.html": "printed" } });
  const args = ["--root", root, "--workers", "2", "--read-only", "--port", "0"];
  const line = await printCommand(args);
  const words = line.split(" ");
  assertEquals(words.slice(0, 2), ["deno", "run"]);
  const server = spawnDeno(words.slice(1), {}, REPO);
  try {
    const banner = await server.waitForLog(/listening on http:\/\/127\.0\.0\.1:(\d+)\//);
    const port = Number(/:(\d+)\/$/.exec(banner)![1]);
    const response = await roundTrip(port, get("/"));
    assertEquals(response.status, 200);
    assertEquals(response.text(), "printed");
    assertEquals(
      bannerPermissions(server.stdout()),
      `--allow-net --allow-read=${root},${WORKER_MODULES.map((path) => relative(REPO, path))}`,
    );
  } finally {
    assertEquals((await server.stop()).code, 0);
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("--read-only: no write permission needed, no upload dir made, POST /upload is 405 like any path", async () => {
  const { base, root } = await makeRoot();
  await Deno.remove(join(root, "uploads"));
  const server = await launchBastion(
    ["--allow-net", `--allow-read=${root}`],
    ["--root", root, "--port", "0", "--read-only"],
  );
  try {
    const post = await roundTrip(
      server.port,
      "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
        "Content-Length: 2\r\n\r\n{}",
    );
    assertEquals(post.status, 405);
    assertEquals(post.header("allow"), "GET, HEAD, OPTIONS");
    const options = await roundTrip(
      server.port,
      "OPTIONS /upload HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    assertEquals(options.status, 204);
    assertEquals(options.header("allow"), "GET, HEAD, OPTIONS");
    assertEquals((await roundTrip(server.port, get("/"))).status, 200);
    assertEquals(await Deno.stat(join(root, "uploads")).catch(() => null), null, "no upload dir");
    assertEquals(bannerPermissions(server.stdout()), `--allow-net --allow-read=${root}`);
  } finally {
    assertEquals((await server.stop()).code, 0);
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("deno task serve works with the npm registry unreachable once dependencies are cached", async () => {
  // This test run has loaded the pinned npm packages already: nothing may be fetched now.
  // Every HTTP(S) request goes to a proxy on a closed port, so any download fails.
  const { base, root } = await makeRoot();
  const unreachable = "http://127.0.0.1:9";
  const offline = { HTTPS_PROXY: unreachable, HTTP_PROXY: unreachable, NO_PROXY: "" };
  const server = await launchTask("serve", ["--root", root, "--port", "0"], offline);
  // The proxy really cuts downloads: a package version not cached cannot be had.
  const probe = spawnDeno(
    ["eval", "--no-lock", 'await import("npm:mime-db@1.52.0")'],
    offline,
    REPO,
  );
  assertEquals((await probe.status).success, false);
  assertMatch(probe.stderr(), /mime-db/);
  try {
    assertEquals((await roundTrip(server.port, get("/sample.txt"))).status, 200);
    assertNotMatch(server.stderr(), /Download|error/i);
  } finally {
    assertEquals((await server.stop()).code, 0);
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("deno task serve with a mistyped flag is one line naming the flag it meant", async () => {
  const process = spawnTask("serve", ["--prot", "9000"]);
  const status = await process.status;
  assertEquals(status.code, 2);
  assertEquals(process.stderr(), "bastion: Unknown flag --prot: did you mean --port? See --help\n");
  assertEquals(process.stdout(), "");
});

Deno.test("deno task serve warns when the open-files limit is below the connection cap", async () => {
  const { base, root } = await makeRoot();
  const serve = (args: string) =>
    spawnProgram(
      "bash",
      [
        "-c",
        `ulimit -n 1024; exec '${Deno.execPath()}' task --quiet serve -- --root '${root}' ` +
        `--port 0 ${args}`,
      ],
      {},
      REPO,
    );
  try {
    for (const [args, warned] of [["", true], ["--max-connections 900", false]] as const) {
      const server = serve(args);
      try {
        await server.waitForLog(/listening on http:\/\/127\.0\.0\.1:\d+\//);
        const warning =
          /^bastion: warning: the open-files limit is 1024, below --max-connections .*LimitNOFILE=/m;
        assertEquals(warning.test(server.stderr()), warned, `${args}: ${server.stderr()}`);
      } finally {
        assertEquals((await server.stop()).code, 0);
      }
    }
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
