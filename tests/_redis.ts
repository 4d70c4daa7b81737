// A throwaway redis-server on loopback for the fleet tests: a free port, no
// persistence, stopped by its test. `redisUnavailable()` says why none can run.

/** Why no redis-server can be started here, or `null`. */
export function redisUnavailable(): string | null {
  try {
    const { success } = new Deno.Command("redis-server", { args: ["--version"], stdout: "null" })
      .outputSync();
    return success ? null : "redis-server --version failed";
  } catch {
    return "redis-server is not installed (apt-get install redis-server; .ci/run installs it)";
  }
}

/** A running redis-server. */
export interface Redis {
  port: number;
  url: string;
  /** Kills it (SIGKILL: as a crash would). */
  kill(): Promise<void>;
  /** Starts it again on the same port (its data is gone, as after a crash without persistence). */
  restart(): Promise<void>;
}

function _freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function _ping(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(new TextEncoder().encode("PING\r\n"));
      const buffer = new Uint8Array(16);
      const n = await conn.read(buffer);
      return new TextDecoder().decode(buffer.subarray(0, n ?? 0)).startsWith("+PONG");
    } finally {
      conn.close();
    }
  } catch {
    return false;
  }
}

async function _spawn(port: number): Promise<Deno.ChildProcess> {
  const child = new Deno.Command("redis-server", {
    args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 100 && !(await _ping(port)); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return child;
}

/** Starts redis-server, runs `body`, and stops it whatever happens. */
export async function withRedis<T>(body: (redis: Redis) => Promise<T>): Promise<T> {
  const port = _freePort();
  let child: Deno.ChildProcess | null = await _spawn(port);
  const kill = async () => {
    if (child === null) return;
    child.kill("SIGKILL");
    await child.status;
    child = null;
  };
  try {
    return await body({
      port,
      url: `redis://127.0.0.1:${port}`,
      kill,
      restart: async () => {
        await kill();
        child = await _spawn(port);
      },
    });
  } finally {
    await kill();
  }
}
