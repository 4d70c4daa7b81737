// --workers N (SPEC §7): N threads share the port and one view of the limits.
import { relative } from "node:path";
import { assertEquals, assertMatch, assertTrue } from "./_assert.ts";
import { get, makeRoot, spawnBastion, WORKER_MODULES } from "./_harness.ts";
import { parsePrometheus } from "./_prometheus.ts";

async function startWorkers(args: string[]) {
  const { base, root, uploads } = await makeRoot();
  const process = spawnBastion(
    [
      "--unstable-net",
      "--allow-net",
      // Each worker loads the server's modules: exactly those are granted besides the root.
      `--allow-read=${[root, ...WORKER_MODULES].join(",")}`,
      `--allow-write=${uploads}`,
    ],
    ["--root", root, "--port", "0", "--workers", "2", ...args],
  );
  const banner = await process.waitForLog(/listening on http:\/\/127\.0\.0\.1:(\d+)\//);
  const port = Number(/:(\d+)\//.exec(banner)![1]);
  return { process, port, base };
}

async function roundTripText(port: number, request: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(request));
  let text = "";
  const buffer = new Uint8Array(65536);
  for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
    text += new TextDecoder().decode(buffer.subarray(0, n));
  }
  conn.close();
  return text;
}

/** One request per new connection, so that the kernel spreads them over the workers. */
async function statuses(port: number, count: number): Promise<number[]> {
  const codes: number[] = [];
  for (let i = 0; i < count; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode(get("/", "Connection: close\r\n")));
    const buffer = new Uint8Array(256);
    const n = await conn.read(buffer);
    codes.push(Number(new TextDecoder().decode(buffer.subarray(0, n ?? 0)).slice(9, 12)));
    conn.close();
  }
  return codes;
}

Deno.test("two workers share the port, tag their logs, and hold one rate limit between them", async () => {
  const { process, port, base } = await startWorkers(["--rate-limit", "1/s:20", "--ban", "off"]);
  try {
    const codes = await statuses(port, 30);
    const ok = codes.filter((code) => code === 200).length;
    assertTrue(ok >= 20 && ok <= 22, `20 tokens shared by both workers (+refill), got ${ok}`);
    assertEquals(codes.filter((code) => code === 429).length, 30 - ok);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // one token refills for /metrics
    const metrics = await roundTripText(port, get("/metrics", "Connection: close\r\n"));
    const samples = parsePrometheus(metrics.slice(metrics.indexOf("\r\n\r\n") + 4));
    assertEquals(
      samples.get('bastion_requests_total{method="GET",status="200"}')! +
        samples.get('bastion_requests_total{method="GET",status="429"}')!,
      30,
      "both workers count into one set of metrics",
    );
    await process.waitForLog(/INFO w2#c\d+ /);
    await process.waitForLog(/INFO w1#c\d+ /);
    assertMatch(process.stdout(), /workers 2/);
  } finally {
    const status = await process.stop();
    assertEquals(status.code, 0, "SIGTERM drains every worker and exits 0");
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("two workers share the per-address connection cap", async () => {
  const { process, port, base } = await startWorkers(["--max-connections-per-ip", "4"]);
  try {
    const held: Deno.Conn[] = [];
    for (let i = 0; i < 4; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(new TextEncoder().encode(get("/")));
      await conn.read(new Uint8Array(4096));
      held.push(conn);
    }
    assertEquals(
      await statuses(port, 3),
      [503, 503, 503],
      "the fifth connection is over the cap in either worker",
    );
    for (const conn of held) conn.close();
  } finally {
    assertEquals((await process.stop()).code, 0);
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("--workers above 1 without --unstable-net is one clear start-up error", async () => {
  const { base, root, uploads } = await makeRoot();
  const process = spawnBastion(
    [
      "--allow-net",
      `--allow-read=${[root, ...WORKER_MODULES].join(",")}`,
      `--allow-write=${uploads}`,
    ],
    ["--root", root, "--port", "0", "--workers", "2"],
  );
  const status = await process.status;
  assertEquals(status.code, 2);
  assertEquals(process.stderr(), "bastion: --workers above 1 needs Deno's --unstable-net flag\n");
  await Deno.remove(base, { recursive: true });
});

Deno.test("--workers without read access to the server's modules is one line naming the --allow-read to add", async () => {
  const { base, root, uploads } = await makeRoot();
  try {
    for (const granted of [[root], [root, WORKER_MODULES[0]]]) {
      const process = spawnBastion(
        [
          "--unstable-net",
          "--allow-net",
          `--allow-read=${granted.join(",")}`,
          `--allow-write=${uploads}`,
        ],
        ["--root", root, "--port", "0", "--workers", "2"],
      );
      const status = await process.status;
      assertEquals(status.code, 2, process.stderr());
      const lines = process.stderr().trimEnd().split("\n");
      assertEquals(lines.length, 1, process.stderr());
      assertMatch(
        lines[0],
        /^bastion: Missing permission: --workers 2 loads .* in each worker: run with --allow-read=/,
      );
      // Paths inside the working directory are shown relative to it, as the user would type them.
      const shown = WORKER_MODULES.map((path) => relative(Deno.cwd(), path));
      assertTrue(
        lines[0].endsWith(`--allow-read=${[root, ...shown].join(",")}`),
        `names exactly the root and the modules: ${lines[0]}`,
      );
      assertEquals(process.stdout(), "", "no banner, nothing started");
    }
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
