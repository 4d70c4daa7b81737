import { resolve } from "node:path";
import { assertEquals, assertMatch, assertThrows, assertTrue } from "../tests/_assert.ts";
import { type Config, ConfigError, parseCommand } from "./config.ts";
import { closestFlag, FLAGS, helpText } from "./config_flags.ts";

function config(args: string[]): Config {
  const command = parseCommand(args);
  if (command.kind !== "run") throw new Error(`Expected a run command, got ${command.kind}`);
  return command.config;
}

function configError(args: string[]): ConfigError {
  const error = assertThrows(() => parseCommand(args), `${args.join(" ")} was accepted`);
  assertTrue(error instanceof ConfigError, `${args.join(" ")}: not a ConfigError: ${error}`);
  return error;
}

Deno.test("parseCommand() defaults are those docs/configuration.md lists", () => {
  const defaults = config([]);
  assertEquals(defaults, {
    port: 8080,
    host: "127.0.0.1",
    workers: 1,
    cert: null,
    key: null,
    root: resolve("resources"),
    uploadDir: resolve("resources", "uploads"),
    readOnly: false,
    profile: "web",
    types: new Map(),
    attachments: new Set(),
    cacheControl: "no-cache",
    dirListing: false,
    fileCache: 64 * 1024 * 1024,
    fileCacheTtlMs: 1000,
    allowedHosts: [],
    extraHeaders: [],
    cors: null,
    trustProxy: [],
    uploadTokenFile: null,
    metricsPublic: false,
    maxHead: 8192,
    maxUri: 4096,
    maxHeaders: 100,
    maxBody: 1048576,
    maxJsonDepth: 64,
    uploadQuota: 1073741824,
    uploadInflight: 268435456,
    maxConnections: 4096,
    maxConnectionsPerIp: 256,
    queue: 128,
    queueTimeoutMs: 5000,
    maxRequestsPerConnection: 100,
    rateLimit: { rate: 1000, burst: 2000 },
    ban: { count: 20, windowMs: 60_000, banMs: 300_000 },
    headerTimeoutMs: 10_000,
    bodyTimeoutMs: 10_000,
    sendTimeoutMs: 30_000,
    idleTimeoutMs: 30_000,
    shutdownTimeoutMs: 10_000,
    logFormat: "text",
    logLevel: "info",
    sharedState: null,
  });
});

Deno.test("parseCommand() returns a frozen Config", () => {
  assertTrue(Object.isFrozen(config([])));
});

Deno.test("parseCommand() reads positional PORT HOST WORKERS", () => {
  const c = config(["8000", "0.0.0.0", "4"]);
  assertEquals([c.port, c.host, c.workers], [8000, "0.0.0.0", 4]);
  const portOnly = config(["9000"]);
  assertEquals([portOnly.port, portOnly.host, portOnly.workers], [9000, "127.0.0.1", 1]);
  const two = config(["9001", "::"]);
  assertEquals([two.port, two.host], [9001, "::"]);
});

Deno.test("parseCommand() mixes positional arguments with flags", () => {
  const c = config(["--profile", "web", "8000", "--dir-listing", "0.0.0.0", "-w", "2"]);
  assertEquals([c.port, c.host, c.workers, c.profile, c.dirListing], [
    8000,
    "0.0.0.0",
    2,
    "web",
    true,
  ]);
  const long = config(["8000", "--host", "::"]);
  assertEquals([long.port, long.host], [8000, "::"]);
});

Deno.test("parseCommand() reads long, short and = forms", () => {
  const c = config(["-p", "81", "-H", "localhost", "-w", "3"]);
  assertEquals([c.port, c.host, c.workers], [81, "localhost", 3]);
  const eq = config(["--port=82", "--host=0.0.0.0", "--workers=4"]);
  assertEquals([eq.port, eq.host, eq.workers], [82, "0.0.0.0", 4]);
});

Deno.test("parseCommand() refuses a setting given both positionally and as a flag", () => {
  configError(["8000", "--port", "9000"]);
  configError(["--port", "8000", "8000"]);
  configError(["8000", "0.0.0.0", "--host", "::"]);
  configError(["8000", "0.0.0.0", "2", "-w", "3"]);
  configError(["-p", "1", "2"]);
});

Deno.test("parseCommand() refuses more than three positional arguments", () => {
  configError(["8000", "0.0.0.0", "4", "extra"]);
});

Deno.test("parseCommand() refuses unknown flags and missing values", () => {
  configError(["--nope"]);
  configError(["-x"]);
  configError(["--port"]);
  configError(["--dir-listing=yes"]);
});

Deno.test("parseCommand() names the closest known flag and --help for an unknown one", () => {
  const cases: [string[], string][] = [
    [["--prot", "9000"], "Unknown flag --prot: did you mean --port? See --help"],
    [["--prot=9000"], "Unknown flag --prot: did you mean --port? See --help"],
    [["--wokers", "2"], "Unknown flag --wokers: did you mean --workers? See --help"],
    [
      ["--allowed-hosts", "a"],
      "Unknown flag --allowed-hosts: did you mean --allowed-host? See --help",
    ],
    [["--readonly"], "Unknown flag --readonly: did you mean --read-only? See --help"],
    [["--max-conn", "9"], "Unknown flag --max-conn: did you mean --max-connections? See --help"],
    [["--zzzzzz"], "Unknown flag --zzzzzz: see --help"],
    [["-x"], "Unknown flag -x: see --help"],
    [["--port"], "Missing value for --port: see --help"],
    [["--dir-listing=yes"], "--dir-listing takes no value: see --help"],
  ];
  for (const [args, message] of cases) assertEquals(configError(args).message, message);
});

Deno.test("closestFlag() suggests only a close name", () => {
  assertEquals(closestFlag("prot"), "port");
  assertEquals(closestFlag("hots"), "host");
  assertEquals(closestFlag("cors"), "cors");
  assertEquals(closestFlag("banana"), null);
  assertEquals(closestFlag("x"), null);
});

Deno.test("parseCommand() reads --read-only and --print-command", () => {
  assertEquals(config(["--read-only"]).readOnly, true);
  const printed = parseCommand(["--print-command", "--read-only"]);
  assertEquals(printed.kind, "print-command");
  configError(["--read-only", "--upload-dir", "/tmp/up"]);
  configError(["--read-only", "--upload-token-file", "/tmp/token"]);
});

Deno.test("parseCommand() accepts ports 0 to 65535", () => {
  assertEquals(config(["--port", "0"]).port, 0);
  assertEquals(config(["65535"]).port, 65535);
  assertEquals(config(["-p", "1"]).port, 1);
});

Deno.test("parseCommand() refuses an out-of-range or malformed port instead of clamping", () => {
  for (const port of ["65536", "70000", "-1", "abc", "80.5", "", " 80", "0x50", "1e3"]) {
    configError([`--port=${port}`]);
  }
  configError(["99999"]);
});

Deno.test("parseCommand() accepts 1 to 256 workers and refuses the rest", () => {
  assertEquals(config(["--workers", "1"]).workers, 1);
  assertEquals(config(["--workers", "256"]).workers, 256);
  for (const workers of ["0", "257", "1000", "-2", "two", "1.5"]) {
    configError([`--workers=${workers}`]);
  }
  configError(["8080", "127.0.0.1", "0"]);
});

Deno.test("parseCommand() reads sizes with units", () => {
  const c = config([
    "--max-head",
    "16KiB",
    "--max-body",
    "2MiB",
    "--upload-quota",
    "10GiB",
    "--max-uri",
    "1KiB",
  ]);
  assertEquals([c.maxHead, c.maxBody, c.uploadQuota, c.maxUri], [
    16384,
    2097152,
    10737418240,
    1024,
  ]);
  assertEquals(config(["--max-body", "100B"]).maxBody, 100);
  assertEquals(config(["--max-body", "1"]).maxBody, 1);
});

Deno.test("parseCommand() refuses zero, negative and malformed sizes", () => {
  for (
    const flag of ["--max-head", "--max-uri", "--max-body", "--upload-quota", "--upload-inflight"]
  ) {
    for (const value of ["0", "0KiB", "-1", "1.5MiB", "1MB", "big", ""]) {
      configError([`${flag}=${value}`]);
    }
  }
});

Deno.test("parseCommand() refuses zero counts", () => {
  for (
    const flag of [
      "--max-headers",
      "--max-json-depth",
      "--max-connections",
      "--max-connections-per-ip",
      "--queue",
      "--max-requests-per-connection",
    ]
  ) {
    configError([`${flag}=0`]);
    configError([`${flag}=-1`]);
    configError([`${flag}=x`]);
    assertEquals(parseCommand([`${flag}=1`]).kind, "run", flag);
  }
});

Deno.test("parseCommand() refuses --max-body above --upload-quota", () => {
  configError(["--max-body", "2GiB"]);
  configError(["--max-body", "2MiB", "--upload-quota", "1MiB"]);
  assertEquals(config(["--max-body", "1GiB"]).maxBody, 1073741824);
  assertEquals(config(["--max-body", "1MiB", "--upload-quota", "1MiB"]).uploadQuota, 1048576);
});

Deno.test("parseCommand() reads durations from 1ms to 1h", () => {
  const c = config([
    "--header-timeout",
    "1ms",
    "--body-timeout",
    "60m",
    "--send-timeout",
    "3600s",
    "--idle-timeout",
    "250ms",
    "--shutdown-timeout",
    "2m",
    "--queue-timeout",
    "1s",
  ]);
  assertEquals(
    [
      c.headerTimeoutMs,
      c.bodyTimeoutMs,
      c.sendTimeoutMs,
      c.idleTimeoutMs,
      c.shutdownTimeoutMs,
      c.queueTimeoutMs,
    ],
    [1, 3_600_000, 3_600_000, 250, 120_000, 1000],
  );
});

Deno.test("parseCommand() refuses out-of-range durations instead of clamping", () => {
  const flags = [
    "--header-timeout",
    "--body-timeout",
    "--send-timeout",
    "--idle-timeout",
    "--shutdown-timeout",
    "--queue-timeout",
  ];
  for (const flag of flags) {
    for (
      const value of ["0ms", "0s", "61m", "3601s", "3600001ms", "10", "1h", "-1s", "1.5s", "soon"]
    ) {
      configError([`${flag}=${value}`]);
    }
  }
});

Deno.test("parseCommand() error messages stay on one line whatever the value holds", () => {
  const cases = [
    ["--port", "80\n"],
    ["--workers", "1\r\nX"],
    ["--max-body", "1MiB\nmore"],
    ["--header-timeout", "1s\n"],
    ["--profile", "web\nseed"],
    ["--host", "a\nb"],
    ["--allowed-host", "a\nb"],
    ["--type", "txt=text/plain\r\nX: y"],
    ["--attachment", "t\nxt"],
    ["--header", "X\nY: z"],
    ["--trust-proxy", "10.0.0.1\n"],
    ["--rate-limit", "1/s:1\n"],
    ["--ban", "1/1s:1s\n"],
  ];
  for (const [flag, value] of cases) {
    const error = configError([flag, value]);
    assertTrue(!/[\r\n]/.test(error.message), `${flag}: ${JSON.stringify(error.message)}`);
  }
});

Deno.test("parseCommand() reads --rate-limit and --ban, or off", () => {
  const c = config(["--rate-limit", "50/s:10", "--ban", "5/10s:1m"]);
  assertEquals(c.rateLimit, { rate: 50, burst: 10 });
  assertEquals(c.ban, { count: 5, windowMs: 10_000, banMs: 60_000 });
  const off = config(["--rate-limit", "off", "--ban", "off"]);
  assertEquals([off.rateLimit, off.ban], [null, null]);
});

Deno.test("parseCommand() refuses malformed --rate-limit and --ban", () => {
  for (const value of ["0/s:1", "1/s:0", "100", "100/m:200", "x/s:1", "on", ""]) {
    configError(["--rate-limit", value]);
  }
  for (
    const value of [
      "0/60s:300s",
      "20/0s:300s",
      "20/60s:0s",
      "20/2h:1s",
      "20/61m:1s",
      "20/60s",
      "20",
      "on",
    ]
  ) {
    configError(["--ban", value]);
  }
});

Deno.test("parseCommand() reads --header as Name: value, trimmed and repeatable", () => {
  const c = config([
    "--header",
    "X-Frame-Options: SAMEORIGIN",
    "--header",
    "X-A:b",
    "--header",
    "X-Empty:",
    "--header",
    "Permissions-Policy:   camera=()  ",
  ]);
  assertEquals(c.extraHeaders, [
    ["X-Frame-Options", "SAMEORIGIN"],
    ["X-A", "b"],
    ["X-Empty", ""],
    ["Permissions-Policy", "camera=()"],
  ]);
});

Deno.test("parseCommand() refuses a malformed --header", () => {
  for (
    const value of [
      "NoColon",
      ": value",
      "X A: b",
      "X(A): b",
      "X-A : b",
      "X-A: a\r\nX-B: b",
      "X-A: a\nb",
      "X-A: \x00",
    ]
  ) {
    configError(["--header", value]);
  }
});

Deno.test("parseCommand() refuses --header for headers the server sets itself", () => {
  for (
    const name of [
      "Content-Length",
      "transfer-encoding",
      "Connection",
      "Date",
      "Server",
      "X-Request-Id",
    ]
  ) {
    configError(["--header", `${name}: x`]);
  }
});

Deno.test("parseCommand() refuses control characters in --cache-control", () => {
  assertEquals(config(["--cache-control", " max-age=60 "]).cacheControl, "max-age=60");
  configError(["--cache-control", "no-cache\r\nSet-Cookie: a=b"]);
});

Deno.test("parseCommand() reads repeatable --type and --attachment", () => {
  const c = config([
    "--type",
    "TXT=text/plain",
    "--type",
    ".md=text/markdown; charset=utf-8",
    "--attachment",
    ".PDF",
    "--attachment",
    "zip",
  ]);
  assertEquals(c.types, new Map([["txt", "text/plain"], ["md", "text/markdown; charset=utf-8"]]));
  assertEquals(c.attachments, new Set(["pdf", "zip"]));
});

Deno.test("parseCommand() takes extensions with dots in --type and --attachment", () => {
  const c = config(["--type", "tar.gz=application/gzip", "--attachment", ".Tar.BZ2"]);
  assertEquals(c.types, new Map([["tar.gz", "application/gzip"]]));
  assertEquals(c.attachments, new Set(["tar.bz2"]));
  for (const value of ["tar..gz", "tar.", ".", "a/b.gz"]) configError(["--attachment", value]);
});

Deno.test("parseCommand() refuses a malformed --type or --attachment", () => {
  for (
    const value of [
      "txt",
      "=text/plain",
      "txt=",
      "txt=plain",
      "a/b=text/plain",
      "txt=text/plain\r\nX: y",
    ]
  ) {
    configError(["--type", value]);
  }
  for (const value of ["", "a/b", "t x t", "."]) configError(["--attachment", value]);
});

Deno.test("parseCommand() reads repeatable --allowed-host, lowercased", () => {
  const c = config([
    "--allowed-host",
    "Example.COM",
    "--allowed-host",
    "*.Example.org",
    "--allowed-host",
    "[::1]",
  ]);
  assertEquals(c.allowedHosts, ["example.com", "*.example.org", "[::1]"]);
  for (const value of ["bad host", "a_b.com", "*.", "*", "http://a", "a/b", "-a.com", "a:80"]) {
    configError(["--allowed-host", value]);
  }
});

Deno.test("parseCommand() reads repeatable --trust-proxy", () => {
  const c = config([
    "--trust-proxy",
    "10.0.0.0/8",
    "--trust-proxy",
    "::1",
    "--trust-proxy",
    "192.168.1.1",
  ]);
  assertEquals(c.trustProxy, ["10.0.0.0/8", "::1", "192.168.1.1"]);
  for (const value of ["10.0.0.0/33", "999.0.0.1", "::1/129", "proxy.lan", "10.0.0/8", ""]) {
    configError(["--trust-proxy", value]);
  }
});

Deno.test("parseCommand() reads the bind host", () => {
  assertEquals(config(["--host", "::"]).host, "::");
  assertEquals(config(["--host", "[::1]"]).host, "::1");
  assertEquals(config(["--host", "Files.LAN"]).host, "files.lan");
  for (const value of ["bad host", "a_b", "http://x", ""]) configError(["--host", value]);
});

Deno.test("parseCommand() requires --cert and --key together", () => {
  configError(["--cert", "c.pem"]);
  configError(["--key", "k.pem"]);
  const tls = config(["--cert", "c.pem", "--key", "k.pem"]);
  assertEquals([tls.cert, tls.key], ["c.pem", "k.pem"]);
});

Deno.test("parseCommand() checks choices", () => {
  assertEquals(config(["--profile", "web"]).profile, "web");
  assertEquals(config(["--log-format", "json", "--log-level", "debug"]).logFormat, "json");
  configError(["--profile", "nginx"]);
  configError(["--log-format", "xml"]);
  configError(["--log-level", "trace"]);
  configError(["--profile", "WEB"]);
});

Deno.test("parseCommand() reads switches", () => {
  const c = config([
    "--dir-listing",
    "--metrics-public",
    "--cors",
    "*",
    "--upload-token-file",
    "token.txt",
  ]);
  assertEquals([c.dirListing, c.metricsPublic, c.cors, c.uploadTokenFile], [
    true,
    true,
    "*",
    "token.txt",
  ]);
});

Deno.test("parseCommand() resolves the web root and puts uploads under it by default", () => {
  const c = config(["--root", "site"]);
  assertEquals(c.root, resolve("site"));
  assertEquals(c.uploadDir, resolve("site", "uploads"));
  const absolute = resolve("/srv/bastion-uploads");
  assertEquals(config(["--upload-dir", absolute]).uploadDir, absolute);
});

Deno.test("parseCommand() answers --help and --version", () => {
  assertEquals(parseCommand(["--help"]), { kind: "help" });
  assertEquals(parseCommand(["-h"]), { kind: "help" });
  assertEquals(parseCommand(["--version"]), { kind: "version" });
  assertEquals(parseCommand(["-V"]), { kind: "version" });
  assertEquals(parseCommand(["--port", "1", "--help"]), { kind: "help" });
  assertEquals(parseCommand(["99999", "--help"]).kind, "help");
});

Deno.test("helpText() lists every flag with its default, grouped", () => {
  const help = helpText();
  for (const flag of FLAGS) {
    assertMatch(help, new RegExp(`--${flag.name}\\b`));
    if (flag.default !== undefined) {
      const line = help.split("\n").find((l) =>
        l.includes(`--${flag.name} `) || l.endsWith(`--${flag.name}`)
      );
      assertTrue(line?.includes(`(default ${flag.default})`), `${flag.name}: ${line}`);
    }
  }
  for (const group of ["Listen:", "Files:", "Security:", "Limits:", "Timeouts:", "Logging:"]) {
    assertMatch(help, new RegExp(`^${group}$`, "m"));
  }
});

Deno.test("FLAGS defaults all parse into a valid Config", () => {
  const args: string[] = [];
  for (const flag of FLAGS) {
    if (flag.default !== undefined) args.push(`--${flag.name}=${flag.default}`);
  }
  assertEquals(config(args), config([]));
});

Deno.test("parseCommand() skips a leading -- (what `deno task serve -- --port 9000` passes on)", () => {
  const c = config(["--", "--port", "9000", "--workers", "2"]);
  assertEquals(c.port, 9000);
  assertEquals(c.workers, 2);
});
