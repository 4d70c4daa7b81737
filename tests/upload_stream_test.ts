/**
 * Upload bodies are streamed to their temporary file as they arrive, never
 * held whole in memory; a body that fails takes its temporary with it; and
 * the in-flight budget (`--upload-inflight`) refuses what would go over it
 * with 503 and `Retry-After` (SPEC §4, §6; issue 16).
 * @module
 */

import { join } from "node:path";
import { assertEquals, assertMatch } from "./_assert.ts";
import { NO_LIMITS, RawClient, roundTrip, withBastion } from "./_harness.ts";

const TEMP = /^\.upload-[0-9a-f]+\.tmp$/;
const MIB = 1024 * 1024;

function head(length: number, extra = ""): string {
  return "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
    `Content-Length: ${length}\r\n${extra}\r\n`;
}

/** Sizes of the upload temporaries in `dir`. */
async function temps(dir: string): Promise<number[]> {
  const sizes: number[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!TEMP.test(entry.name)) continue;
    const info = await Deno.stat(join(dir, entry.name)).catch(() => null);
    if (info !== null) sizes.push(info.size);
  }
  return sizes;
}

/** Polls `dir` (every 20 ms, 10 s at most) until `ready` holds for its temporaries' sizes. */
async function waitForTemps(dir: string, ready: (sizes: number[]) => boolean, what: string) {
  let sizes: number[] = [];
  for (let tries = 0; tries < 500; tries++) {
    sizes = await temps(dir);
    if (ready(sizes)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${what}: temporaries ${JSON.stringify(sizes)}`);
}

Deno.test("an upload is on disk in its temporary while it arrives, and a client that leaves mid-body takes it with it", async () => {
  await withBastion(async (server) => {
    const client = await RawClient.connect(server.port);
    try {
      await client.send(head(MIB) + `"${"s".repeat(600 * 1024)}`);
      await waitForTemps(
        server.uploads,
        (sizes) => sizes.length === 1 && sizes[0] >= 512 * 1024,
        "the body streams to one temporary",
      );
      client.close();
      await waitForTemps(server.uploads, (sizes) => sizes.length === 0, "the temporary goes");
      assertEquals((await roundTrip(server.port, head(3) + "[1]")).status, 201);
      assertEquals(await temps(server.uploads), []);
    } finally {
      client.close();
    }
  });
});

Deno.test("a body found invalid half-way is refused with 400 and leaves no temporary", async () => {
  await withBastion(async (server) => {
    const client = await RawClient.connect(server.port);
    try {
      const start = "[" + "1,".repeat(200 * 1024);
      const rest = "}" + " ".repeat(100 * 1024);
      await client.send(head(start.length + rest.length) + start);
      await waitForTemps(
        server.uploads,
        (sizes) => sizes.length === 1 && sizes[0] >= 300 * 1024,
        "the valid start streams to a temporary",
      );
      await client.send(rest);
      const refused = await client.response();
      assertEquals(refused.status, 400);
      assertMatch(refused.text(), /not valid JSON/);
      assertEquals(await temps(server.uploads), []);
    } finally {
      client.close();
    }
  });
});

Deno.test("an upload that would take the in-flight budget past --upload-inflight gets 503 with Retry-After and a close", async () => {
  await withBastion({ args: ["--upload-inflight", "1KiB", ...NO_LIMITS] }, async (server) => {
    const holder = await RawClient.connect(server.port);
    try {
      const held = `[${"7,".repeat(499)}7]`;
      await holder.send(head(held.length, "Expect: 100-continue\r\n"));
      assertEquals((await holder.response()).status, 100, "the first upload holds its share");

      const refused = await roundTrip(server.port, head(100) + `"${"x".repeat(98)}"`);
      assertEquals(refused.status, 503, refused.text());
      assertEquals(refused.header("retry-after"), "1");
      assertEquals(refused.header("connection"), "close");
      assertEquals(JSON.parse(refused.text()).status, "error");

      assertEquals(
        (await roundTrip(server.port, head(3) + "[2]")).status,
        201,
        "what fits goes in",
      );
      await holder.send(held);
      assertEquals((await holder.response()).status, 201);
      const again = await roundTrip(server.port, head(100) + `"${"x".repeat(98)}"`);
      assertEquals(again.status, 201, "the share came back");
      assertEquals(await temps(server.uploads), []);
    } finally {
      holder.close();
    }
  });
});

Deno.test("a body larger than the whole in-flight budget is received alone", async () => {
  await withBastion({ args: ["--upload-inflight", "100B", "--ban", "off"] }, async (server) => {
    const big = `"${"b".repeat(1000)}"`;
    const response = await roundTrip(server.port, head(big.length) + big);
    assertEquals(response.status, 201, response.text());
    const name = response.header("location")!.slice("/uploads/".length);
    assertEquals(await Deno.readTextFile(join(server.uploads, name)), big);
  });
});
