/**
 * Integration tests for reading uploads back (SPEC §3, §4): the `Location`
 * of a stored upload serves its exact bytes as JSON in every profile, also
 * from an upload directory outside the web root, with path safety intact.
 * @module
 */

import { join } from "node:path";
import { assertEquals, assertMatch } from "./_assert.ts";
import {
  type Bastion,
  get,
  launchBastion,
  makeRoot,
  NO_LIMITS,
  type RawResponse,
  roundTrip,
  withBastion,
} from "./_harness.ts";

const JSON_TYPE = "application/json; charset=utf-8";
const BODY = '{"answer": 42, "text": "caf\u00e9 \\u00e9", "list": [1, 2, 3]}';
/** A name bastion could have stored. */
const STORED = "upload_20260102_030405_0123456789ab.json";
const encoder = new TextEncoder();

async function postUpload(server: Bastion, body: string): Promise<string> {
  const bytes = encoder.encode(body);
  const response = await roundTrip(
    server.port,
    `POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${bytes.length}\r\n\r\n${body}`,
  );
  assertEquals(response.status, 201, response.text());
  const location = response.header("location") ?? "";
  assertMatch(location, /^\/uploads\/upload_\d{8}_\d{6}_[0-9a-f]{12}\.json$/);
  return location;
}

async function fetchPath(server: Bastion, path: string, method = "GET"): Promise<RawResponse> {
  return await roundTrip(
    server.port,
    `${method} ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`,
    { head: method === "HEAD" },
  );
}

/** Posts BODY and checks that GET and HEAD of its Location give it back as JSON. */
async function assertReadBack(server: Bastion, label: string): Promise<void> {
  const location = await postUpload(server, BODY);
  const response = await fetchPath(server, location);
  assertEquals(response.status, 200, `${label}: ${response.text()}`);
  assertEquals(response.header("content-type"), JSON_TYPE, label);
  assertEquals(response.header("content-disposition"), undefined, label);
  assertEquals(response.body, encoder.encode(BODY), label);
  const head = await fetchPath(server, location, "HEAD");
  assertEquals(head.status, 200, label);
  assertEquals(head.header("content-type"), JSON_TYPE, label);
  assertEquals(head.header("content-length"), String(encoder.encode(BODY).length), label);
}

/** Starts bastion with its uploads in a directory outside the web root. */
async function startWithOutsideUploads(
  args: string[] = [],
): Promise<{ server: Bastion; outside: string; base: string }> {
  const { base, root } = await makeRoot();
  const outside = join(base, "elsewhere", "uploads");
  await Deno.mkdir(outside, { recursive: true });
  const process = await launchBastion(
    ["--allow-net", `--allow-read=${root},${outside}`, `--allow-write=${outside}`],
    ["--root", root, "--port", "0", "--upload-dir", outside, ...NO_LIMITS, ...args],
  );
  return { server: { ...process, root, uploads: outside }, outside, base };
}

Deno.test("an upload's Location reads back as JSON, byte-exact, under the default profile", async () => {
  await withBastion({ args: NO_LIMITS }, async (server) => {
    await assertReadBack(server, "default");
  });
});

Deno.test("an upload's Location reads back as JSON under --profile seed, where other .json is 415", async () => {
  await withBastion({
    args: [...NO_LIMITS, "--profile", "seed"],
    files: { "data.json": "{}", "uploads/other.json": "{}" },
  }, async (server) => {
    await assertReadBack(server, "seed");
    assertEquals((await fetchPath(server, "/data.json")).status, 415);
    assertEquals((await fetchPath(server, "/uploads/other.json")).status, 415);
  });
});

Deno.test("an upload's Location reads back when --upload-dir is outside the web root, in both profiles", async () => {
  for (const args of [[], ["--profile", "seed"]]) {
    const { server, outside, base } = await startWithOutsideUploads(args);
    try {
      await assertReadBack(server, `outside ${args.join(" ")}`);
      // A stored name the upload directory lacks is not looked for under the web root.
      await Deno.mkdir(join(server.root, "uploads"), { recursive: true });
      await Deno.writeTextFile(join(server.root, "uploads", STORED), '{"from":"root"}');
      assertEquals((await fetchPath(server, `/uploads/${STORED}`)).status, 404);
      await Deno.writeTextFile(join(outside, STORED), '{"from":"uploads"}');
      assertEquals((await fetchPath(server, `/uploads/${STORED}`)).text(), '{"from":"uploads"}');
    } finally {
      await server.stop();
      await Deno.remove(base, { recursive: true }).catch(() => {});
    }
  }
});

Deno.test("the upload directory keeps path safety: temp files 404, links out 403, other names not served from it", async () => {
  const { server, outside, base } = await startWithOutsideUploads(["--profile", "seed"]);
  try {
    const secret = join(base, "secret.json");
    await Deno.writeTextFile(secret, '{"secret":true}');
    await Deno.symlink(secret, join(outside, STORED));
    const link = await fetchPath(server, `/uploads/${STORED}`);
    assertEquals(link.status, 403);
    assertEquals(link.text().includes("secret"), false);

    await Deno.writeTextFile(join(outside, ".upload-0123456789ab.tmp"), "{}");
    await Deno.writeTextFile(join(outside, "notes.json"), "{}");
    await Deno.writeTextFile(join(outside, `${STORED}.bak`), "{}");
    for (
      const path of [
        "/uploads/.upload-0123456789ab.tmp",
        "/uploads/notes.json",
        `/uploads/${STORED}.bak`,
        `/uploads/${STORED}/`,
        `/uploads/../uploads/${STORED}`,
        `/uploads/%2e%2e/secret.json`,
      ]
    ) {
      const response = await fetchPath(server, path);
      assertEquals([403, 404].includes(response.status), true, `${path}: ${response.status}`);
      assertEquals(response.text().includes("secret"), false, path);
    }
    assertEquals((await roundTrip(server.port, get("/uploads/"))).status, 404);
  } finally {
    await server.stop();
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
});

Deno.test("--read-only: /uploads/<name> is an ordinary path of the web root, typed by the profile", async () => {
  for (const [profile, status] of [["seed", 415], ["web", 200]] as const) {
    await withBastion({
      args: [...NO_LIMITS, "--read-only", "--profile", profile],
      files: { [`uploads/${STORED}`]: '{"in":"root"}' },
    }, async (server) => {
      const response = await fetchPath(server, `/uploads/${STORED}`);
      assertEquals(response.status, status, profile);
      if (status === 200) assertEquals(response.header("content-type"), JSON_TYPE);
    });
  }
});
