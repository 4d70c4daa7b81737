import { join } from "node:path";
import { assertEquals, assertMatch } from "./_assert.ts";
import { makeRoot, roundTrip, spawnBastion, withBastion } from "./_harness.ts";

function upload(body: string, extra = ""): string {
  return `POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${new TextEncoder().encode(body).length}\r\n${extra}\r\n${body}`;
}

async function storedUploads(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name !== ".gitkeep") names.push(entry.name);
  }
  return names;
}

Deno.test("uploads need the bearer token from --upload-token-file; others get 401 with WWW-Authenticate", async () => {
  const tokenDir = await Deno.makeTempDir();
  const tokenFile = join(tokenDir, "token");
  await Deno.writeTextFile(tokenFile, "  t0ken-123\n");
  await withBastion({
    args: ["--upload-token-file", tokenFile],
    extraRead: [tokenFile],
  }, async (server) => {
    for (
      const auth of ["", "Authorization: Bearer wrong\r\n", "Authorization: Basic dDBrZW4tMTIz\r\n"]
    ) {
      const refused = await roundTrip(server.port, upload('{"a":1}', auth));
      assertEquals(refused.status, 401, auth);
      assertEquals(refused.header("www-authenticate"), "Bearer");
      assertEquals(refused.header("content-type"), "application/json");
    }
    assertEquals(await storedUploads(server.uploads), []);
    const accepted = await roundTrip(
      server.port,
      upload('{"a":1}', "Authorization: Bearer t0ken-123\r\n"),
    );
    assertEquals(accepted.status, 201);
    assertEquals((await storedUploads(server.uploads)).length, 1);
    await server.waitForLog(/reason=auth/);
  });
});

Deno.test("BASTION_UPLOAD_TOKEN protects uploads when --allow-env grants it", async () => {
  await withBastion({
    env: { BASTION_UPLOAD_TOKEN: "env-token" },
    extraPermissions: ["--allow-env=BASTION_UPLOAD_TOKEN"],
  }, async (server) => {
    assertEquals((await roundTrip(server.port, upload("[]"))).status, 401);
    const ok = await roundTrip(server.port, upload("[]", "Authorization: Bearer env-token\r\n"));
    assertEquals(ok.status, 201);
  });
});

Deno.test("an empty upload token file is a start-up error with exit code 2", async () => {
  const { root, uploads } = await makeRoot();
  const tokenFile = join(root, "..", "token");
  await Deno.writeTextFile(tokenFile, " \n");
  const process = spawnBastion(
    ["--allow-net", `--allow-read=${root},${tokenFile}`, `--allow-write=${uploads}`],
    ["--root", root, "--port", "0", "--upload-token-file", tokenFile],
  );
  const status = await process.status;
  assertEquals(status.code, 2);
  assertMatch(process.stderr(), /^bastion: The upload token is empty\n$/);
});

Deno.test("the upload quota answers 507 and leaves nothing behind", async () => {
  await withBastion({ args: ["--upload-quota", "100B", "--max-body", "100B"] }, async (server) => {
    const first = await roundTrip(server.port, upload(JSON.stringify({ fill: "x".repeat(60) })));
    assertEquals(first.status, 201);
    const second = await roundTrip(server.port, upload(JSON.stringify({ fill: "y".repeat(60) })));
    assertEquals(second.status, 507);
    assertEquals(JSON.parse(second.text()).status, "error");
    assertEquals((await storedUploads(server.uploads)).length, 1, "no partial or temporary file");
    const small = await roundTrip(server.port, upload("[1]"));
    assertEquals(small.status, 201, "what still fits is stored");
  });
});

Deno.test("the quota counts uploads stored before start-up", async () => {
  const name = "upload_20260101_000000_0123456789ab.json";
  await withBastion({
    args: ["--upload-quota", "50B", "--max-body", "50B"],
    files: { [`uploads/${name}`]: "x".repeat(45) },
  }, async (server) => {
    assertEquals((await roundTrip(server.port, upload('{"abcdef":1}'))).status, 507);
    assertEquals((await roundTrip(server.port, upload("1"))).status, 201);
  });
});
