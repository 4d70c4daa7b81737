/**
 * Scaling past one machine (issue 6): three bastion instances share one web
 * root and one upload dir behind nginx, configured by `deploy/nginx-lb.conf`
 * with only its ports changed. Skipped, with the reason printed, when nginx is
 * not installed.
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assertEquals, assertMatch, assertTrue } from "./_assert.ts";
import { type Bastion, get, makeRoot, roundTrip, spawnBastion } from "./_harness.ts";
import { parsePrometheus } from "./_prometheus.ts";
import { redisUnavailable, withRedis } from "./_redis.ts";
import { REDIS_CLIENT_VARIABLE } from "../src/permissions.ts";

const LB_CONF = fileURLToPath(new URL("../deploy/nginx-lb.conf", import.meta.url));
const BANNER = /listening on http:\/\/127\.0\.0\.1:(\d+)\//;
const NAME = /^upload_\d{8}_\d{6}_[0-9a-f]{12}\.json$/;
const INSTANCES = 3;
const UPLOADS = 60;
const CLIENT = "198.51.100.7";
const encoder = new TextEncoder();

type Instance = Omit<Bastion, "port" | "root" | "uploads"> & { port: number };

/** nginx on PATH, or where the Debian package puts it (not on a user's PATH). */
function findNginx(): string | null {
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":").filter(Boolean), "/usr/sbin"];
  for (const dir of dirs) {
    try {
      if (Deno.statSync(join(dir, "nginx")).isFile) return join(dir, "nginx");
    } catch { /* not here */ }
  }
  return null;
}

const NGINX = findNginx();
if (NGINX === null) console.log("load-balancer test skipped: nginx not found (apt install nginx)");
const NO_REDIS = redisUnavailable();
if (NGINX !== null && NO_REDIS !== null) {
  console.log(`fleet-behind-nginx test skipped: ${NO_REDIS}`);
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function startInstances(
  root: string,
  uploads: string,
  more: { args?: string[]; permissions?: string[] } = {},
): Promise<Instance[]> {
  const started = Array.from({ length: INSTANCES }, async () => {
    const process = spawnBastion(
      [
        "--allow-net",
        `--allow-read=${root}`,
        `--allow-write=${uploads}`,
        ...more.permissions ?? [],
      ],
      ["--root", root, "--port", "0", "--trust-proxy", "127.0.0.1", ...more.args ?? []],
    );
    const banner = await process.waitForLog(BANNER).catch(async (error) => {
      await process.stop();
      throw error;
    });
    return { ...process, port: Number(BANNER.exec(banner)![1]) };
  });
  const settled = await Promise.allSettled(started);
  const failed = settled.find((result) => result.status === "rejected");
  if (failed === undefined) return settled.map((result) => (result as { value: Instance }).value);
  for (const result of settled) if (result.status === "fulfilled") await result.value.stop();
  throw (failed as PromiseRejectedResult).reason;
}

/** deploy/nginx-lb.conf with its ports changed, inside a main context that keeps nginx in `dir`. */
async function writeNginxConfig(dir: string, listen: number, upstreams: number[]): Promise<string> {
  let servers = 0;
  const snippet = (await Deno.readTextFile(LB_CONF))
    .replace(/server 127\.0\.0\.1:\d+/g, () => `server 127.0.0.1:${upstreams[servers++]}`)
    .replace(/listen 80;/, `listen 127.0.0.1:${listen};`);
  assertEquals(servers, upstreams.length, "the example names one server per instance");
  assertMatch(snippet, new RegExp(`listen 127\\.0\\.0\\.1:${listen};`));
  await Deno.writeTextFile(join(dir, "bastion-lb.conf"), snippet);
  const temps = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((name) => `  ${name}_temp_path ${join(dir, name)};`);
  const main = [
    `pid ${join(dir, "nginx.pid")};`,
    `error_log ${join(dir, "error.log")};`,
    "worker_processes 1;",
    "events { worker_connections 512; }",
    "http {",
    `  access_log ${join(dir, "access.log")};`,
    ...temps,
    `  include ${join(dir, "bastion-lb.conf")};`,
    "}",
    "",
  ].join("\n");
  const path = join(dir, "nginx.conf");
  await Deno.writeTextFile(path, main);
  return path;
}

/** Runs nginx in the foreground until it accepts on `port`; `stop()` ends it by its PID. */
async function startNginx(binary: string, dir: string, config: string, port: number) {
  // Run as root, nginx's workers are `nobody`: they must reach the temp paths.
  await Deno.chmod(dir, 0o755);
  const child = new Deno.Command(binary, {
    args: ["-p", dir, "-c", config, "-g", "daemon off;"],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let exited = false;
  child.status.then(() => exited = true);
  const stop = async () => {
    if (!exited) child.kill("SIGTERM");
    const timer = setTimeout(() => !exited && child.kill("SIGKILL"), 5000);
    await child.status;
    clearTimeout(timer);
    await stderr;
  };
  for (let attempt = 0; attempt < 100 && !exited; attempt++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return { stop };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  await stop();
  const log = await Deno.readTextFile(join(dir, "error.log")).catch(() => "");
  throw new Error(`nginx did not start: ${await stderr}${log}`);
}

function uploadRequest(body: string): Uint8Array {
  const bytes = encoder.encode(body);
  const head = `POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`;
  const out = new Uint8Array(head.length + bytes.length);
  out.set(encoder.encode(head));
  out.set(bytes, head.length);
  return out;
}

/** Posts `count` distinct documents at once; returns stored name → posted body. */
async function uploadMany(port: number, count: number): Promise<Map<string, string>> {
  const bodies = Array.from(
    { length: count },
    (_, i) => JSON.stringify({ upload: i, nonce: crypto.randomUUID() }),
  );
  const responses = await Promise.all(bodies.map((body) => roundTrip(port, uploadRequest(body))));
  const stored = new Map<string, string>();
  responses.forEach((response, i) => {
    assertEquals(response.status, 201, `upload ${i}: ${response.text()}`);
    const answer = JSON.parse(response.text());
    assertEquals(answer.status, "success");
    assertEquals(answer.message, "File created successfully");
    const name = String(answer.filepath).replace(/^\/uploads\//, "");
    assertMatch(name, NAME);
    assertEquals(response.header("location"), answer.filepath);
    stored.set(name, bodies[i]);
  });
  return stored;
}

/** The upload dir holds exactly `stored`, each file with the bytes posted. */
async function assertStored(uploads: string, stored: Map<string, string>): Promise<void> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(uploads)) names.push(entry.name);
  assertEquals(names.sort(), [...stored.keys()].sort(), "one file per upload, no temporaries");
  for (const [name, body] of stored) {
    assertEquals(await Deno.readTextFile(join(uploads, name)), body, name);
  }
}

async function uploadsServed(port: number): Promise<number> {
  const response = await roundTrip(port, get("/metrics", "Connection: close\r\n"));
  assertEquals(response.status, 200);
  return parsePrometheus(response.text()).get("bastion_uploads_total") ?? 0;
}

/** What a monitoring probe sees: the /healthz status of one instance, 0 when refused. */
async function probe(port: number): Promise<number> {
  try {
    return (await roundTrip(port, get("/healthz", "Connection: close\r\n"))).status;
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) return 0;
    throw error;
  }
}

async function waitForAny(instances: Instance[], pattern: RegExp): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (instances.some((instance) => pattern.test(instance.stdout()))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`No instance logged ${pattern}`);
}

Deno.test({
  name: "three instances behind nginx share one upload dir, and nginx passes over a stopped one",
  ignore: NGINX === null,
  async fn() {
    const { base, root, uploads } = await makeRoot();
    const nginxDir = await Deno.makeTempDir({ prefix: "bastion-nginx-" });
    let instances: Instance[] = [];
    let nginx: { stop(): Promise<void> } | null = null;
    try {
      instances = await startInstances(root, uploads);
      const port = freePort();
      const ports = instances.map((instance) => instance.port);
      const config = await writeNginxConfig(nginxDir, port, ports);
      nginx = await startNginx(NGINX!, nginxDir, config, port);

      const health = await roundTrip(port, get("/healthz", "Connection: close\r\n"));
      assertEquals(health.status, 200);
      assertMatch(health.text(), /^\{"status":"ok",/);
      const metrics = await roundTrip(port, get("/metrics", "Connection: close\r\n"));
      assertEquals(metrics.status, 404, "metrics are scraped per instance, not through nginx");

      const stored = await uploadMany(port, UPLOADS);
      assertEquals(stored.size, UPLOADS, "every stored name is distinct");
      await assertStored(uploads, stored);
      const served = await Promise.all(ports.map(uploadsServed));
      assertEquals(served.reduce((sum, count) => sum + count, 0), UPLOADS);
      assertTrue(served.filter((count) => count > 0).length > 1, `spread: ${served}`);

      const forwarded = `X-Forwarded-For: ${CLIENT}\r\nConnection: close\r\n`;
      assertEquals((await roundTrip(port, get("/index.html", forwarded))).status, 200);
      await waitForAny(instances, new RegExp(` ${CLIENT} "GET /index\\.html HTTP/1\\.1" 200 `));

      assertEquals((await instances[1].stop()).code, 0, "SIGTERM ends an instance cleanly");
      for (let i = 0; i < 2 * INSTANCES; i++) {
        const response = await roundTrip(port, get("/index.html", "Connection: close\r\n"));
        assertEquals(response.status, 200, `GET ${i} after one instance stopped`);
      }
      const errors = await Deno.readTextFile(join(nginxDir, "error.log"));
      assertMatch(
        errors,
        new RegExp(`connect\\(\\) failed .*upstream: "http://127\\.0\\.0\\.1:${ports[1]}/`),
      );
      assertEquals(await Promise.all(ports.map(probe)), [200, 0, 200], "direct /healthz probes");
      const later = await uploadMany(port, INSTANCES);
      await assertStored(uploads, new Map([...stored, ...later]));
    } finally {
      await nginx?.stop();
      await Promise.all(instances.map((instance) => instance.stop()));
      await Deno.remove(nginxDir, { recursive: true }).catch(() => {});
      await Deno.remove(base, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "three instances behind nginx with --shared-state: one ban and one rate limit for the fleet",
  ignore: NGINX === null || NO_REDIS !== null,
  async fn() {
    await withRedis(async (redis) => {
      const { base, root, uploads } = await makeRoot();
      const nginxDir = await Deno.makeTempDir({ prefix: "bastion-nginx-" });
      let instances: Instance[] = [];
      let nginx: { stop(): Promise<void> } | null = null;
      try {
        instances = await startInstances(root, uploads, {
          args: ["--shared-state", redis.url, "--ban", "3/60s:300s", "--rate-limit", "10/s:10"],
          permissions: [`--allow-env=${REDIS_CLIENT_VARIABLE}`],
        });
        for (const instance of instances) await instance.waitForLog(/shared state connected/);
        const port = freePort();
        const config = await writeNginxConfig(nginxDir, port, instances.map((i) => i.port));
        nginx = await startNginx(NGINX!, nginxDir, config, port);
        const from = (client: string) =>
          roundTrip(
            port,
            get("/index.html", `X-Forwarded-For: ${client}\r\nConnection: close\r\n`),
          );

        // Round robin spreads one client's requests over the three: the rate limit holds for all.
        const started = Date.now();
        let ok = 0;
        for (let i = 0; i < 60; i++) if ((await from("198.51.100.21")).status === 200) ok++;
        const seconds = (Date.now() - started) / 1000;
        // One instance alone: 10 + 10/s; three unshared: three times that. Bound: docs/deployment.md.
        assertTrue(ok <= 10 + 10 * seconds + 2 * 10 + 3 * 10 * 0.15, `${ok} of 60 in ${seconds} s`);

        // Three forged Hosts through nginx land on different instances and add up to one ban.
        const forged = "GET /index.html HTTP/1.1\r\nHost: evil.example\r\n" +
          "X-Forwarded-For: 198.51.100.22\r\nConnection: close\r\n\r\n";
        for (let i = 0; i < 3; i++) assertEquals((await roundTrip(port, forged)).status, 403);
        let refused = 0;
        for (let attempt = 0; attempt < 20 && refused < 3; attempt++) {
          const status = (await from("198.51.100.22")).status;
          refused = status === 403 ? refused + 1 : 0;
          if (status !== 403) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assertEquals(refused, 3, "three requests in a row refused: banned on every instance");
        // nginx saw answers, not failures: other clients are still served by every instance.
        for (let i = 0; i < 6; i++) assertEquals((await from("198.51.100.23")).status, 200);
        const errors = await Deno.readTextFile(join(nginxDir, "error.log"));
        assertTrue(!/upstream prematurely closed|no live upstreams/.test(errors), errors);
      } finally {
        await nginx?.stop();
        await Promise.all(instances.map((instance) => instance.stop()));
        await Deno.remove(nginxDir, { recursive: true }).catch(() => {});
        await Deno.remove(base, { recursive: true }).catch(() => {});
      }
    });
  },
});
