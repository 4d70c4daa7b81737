import { assertEquals, assertThrows, assertTrue } from "../../tests/_assert.ts";
import { parseCommand } from "../config.ts";
import { HttpError } from "../http/http_error.ts";
import { isValidAuthority } from "../http/request.ts";
import { HostAllowList, hostOfAddress } from "./host_allow.ts";

const hosts = new HostAllowList({
  boundHost: "127.0.0.1",
  boundPort: 8080,
  allowed: ["example.com", "*.example.org", "[2001:db8::1]"],
});

const ALLOWED = [
  "localhost",
  "localhost:8080",
  "LOCALHOST",
  "LocalHost:8080",
  "localhost:",
  "127.0.0.1",
  "127.0.0.1:8080",
  "[::1]",
  "[::1]:8080",
  "example.com",
  "EXAMPLE.COM:8080",
  "a.example.org",
  "A.B.Example.Org:8080",
  "[2001:db8::1]",
  "[2001:DB8::1]:8080",
];

const REFUSED = [
  "localhost:80",
  "localhost:8081",
  "localhost:0",
  "127.0.0.1:80",
  "[::1]:8081",
  "127.0.0.2",
  "localhost.",
  "localhost.localdomain",
  "example.net",
  "www.example.com",
  "example.com:443",
  "example.org",
  ".example.org",
  "badexample.org",
  "a.example.org.evil.net",
  "example.org.evil.net",
  "a.example.org:9090",
  "[::2]",
  "[0:0:0:0:0:0:0:1]",
  "0.0.0.0",
  "evil.com",
];

for (const authority of ALLOWED) {
  Deno.test(`HostAllowList allows ${authority}`, () => {
    assertTrue(hosts.allows(authority));
    hosts.check(authority);
  });
}

for (const authority of REFUSED) {
  Deno.test(`HostAllowList refuses ${authority} with 403`, () => {
    assertEquals(hosts.allows(authority), false);
    const error = assertThrows(() => hosts.check(authority));
    assertTrue(error instanceof HttpError);
    assertEquals([error.status, error.reason, error.close], [403, "host", false]);
  });
}

Deno.test("HostAllowList allows the bound host and port", () => {
  const list = new HostAllowList({ boundHost: "files.lan", boundPort: 9000 });
  assertTrue(list.allows("files.lan:9000"));
  assertTrue(list.allows("Files.LAN"));
  assertTrue(list.allows("localhost:9000"));
  assertEquals(list.allows("localhost:8080"), false);
  assertEquals(list.allows("other.lan"), false);
});

Deno.test("HostAllowList brackets a bound IPv6 address", () => {
  const list = new HostAllowList({ boundHost: "::", boundPort: 8080 });
  assertTrue(list.allows("[::]:8080"));
  assertTrue(list.allows("[::1]"));
  assertEquals(list.allows("::"), false);
});

Deno.test("HostAllowList allows 0.0.0.0 only when bound to it", () => {
  const list = new HostAllowList({ boundHost: "0.0.0.0", boundPort: 80 });
  assertTrue(list.allows("0.0.0.0"));
  assertTrue(list.allows("0.0.0.0:80"));
  assertEquals(list.allows("192.168.1.10"), false);
});

Deno.test("HostAllowList uses the real port when 0 was asked for", () => {
  const list = new HostAllowList({ boundHost: "127.0.0.1", boundPort: 41234 });
  assertTrue(list.allows("127.0.0.1:41234"));
  assertEquals(list.allows("127.0.0.1:0"), false);
});

Deno.test("HostAllowList matches --allowed-host entries case-insensitively via Config", () => {
  const command = parseCommand([
    "--allowed-host",
    "Files.Example.COM",
    "--allowed-host",
    "*.CDN.net",
  ]);
  if (command.kind !== "run") throw new Error("Expected a run command");
  const list = new HostAllowList({
    boundHost: command.config.host,
    boundPort: command.config.port,
    allowed: command.config.allowedHosts,
  });
  assertTrue(list.allows("files.example.com"));
  assertTrue(list.allows("FILES.EXAMPLE.COM:8080"));
  assertTrue(list.allows("Edge.cdn.NET"));
  assertEquals(list.allows("cdn.net"), false);
});

Deno.test("isValidAuthority() accepts host[:port] and refuses userinfo and bad ports", () => {
  for (const ok of ["a", "a.b", "a:1", "a:65535", "[::1]", "[::1]:80", "a%20b", "a:"]) {
    assertTrue(isValidAuthority(ok), ok);
  }
  for (
    const bad of ["", ":80", "a:65536", "a:123456", "u@a", "a b", "a/b", "[::1", "a:80:80", "a:x"]
  ) {
    assertEquals(isValidAuthority(bad), false, bad);
  }
});

Deno.test("HostAllowList: the last allowed host is remembered, and lets no other through", () => {
  const list = new HostAllowList({ boundHost: "127.0.0.1", boundPort: 8080 });
  assertEquals(list.allows(""), false);
  for (const refused of ["evil.com", "localhost:9090", "localhost.", "", "LOCALHOST:80"]) {
    assertTrue(list.allows("localhost:8080"));
    assertEquals(list.allows(refused), false, refused);
  }
});

Deno.test("isValidAuthority(): a value found valid is remembered, and no other with it", () => {
  assertEquals(isValidAuthority(""), false);
  for (const bad of ["", "a:65536", "a b", "u@a", "[::1", "a:x"]) {
    assertTrue(isValidAuthority("a:80"));
    assertEquals(isValidAuthority(bad), false, bad);
  }
});

Deno.test("HostAllowList allows the connection's own address, with the bound port only", () => {
  const list = new HostAllowList({ boundHost: "0.0.0.0", boundPort: 8080 });
  const lan = hostOfAddress("192.168.1.10");
  assertTrue(list.allows("192.168.1.10:8080", lan));
  assertTrue(list.allows("192.168.1.10", lan));
  assertEquals(list.allows("192.168.1.10:8081", lan), false);
  assertEquals(list.allows("192.168.1.11:8080", lan), false);
  assertEquals(list.allows("192.168.1.10:8080"), false, "no local address: not allowed");
  assertEquals(list.allows("evil.example", lan), false);
  const v6 = hostOfAddress("FE80::1");
  assertTrue(list.allows("[fe80::1]:8080", v6));
  assertTrue(list.allows("[FE80::1]", v6));
  assertEquals(list.allows("fe80::1", v6), false);
  assertTrue(list.allows("192.168.1.10:8080", hostOfAddress("::ffff:192.168.1.10")));
});

Deno.test("HostAllowList: a host remembered as one connection's address lets nothing through on another", () => {
  const list = new HostAllowList({ boundHost: "0.0.0.0", boundPort: 8080 });
  const own = hostOfAddress("192.168.1.10");
  const other = hostOfAddress("10.0.0.1");
  for (let i = 0; i < 3; i++) {
    assertTrue(list.allows("192.168.1.10:8080", own));
    assertEquals(list.allows("192.168.1.10:8080", other), false);
    assertEquals(list.allows("192.168.1.10:8080"), false);
    assertTrue(list.allows("localhost:8080", other), "a fixed name is allowed everywhere");
  }
  assertEquals(list.check("192.168.1.10:8080", own), undefined);
  const error = assertThrows(() => list.check("192.168.1.10:8080", other));
  assertTrue(error instanceof HttpError);
  assertEquals(error.status, 403);
});

Deno.test("hostOfAddress() writes an address as a Host names it", () => {
  assertEquals(hostOfAddress("127.0.0.2"), "127.0.0.2");
  assertEquals(hostOfAddress("::1"), "[::1]");
  assertEquals(hostOfAddress("2001:DB8::A"), "[2001:db8::a]");
  assertEquals(hostOfAddress("::FFFF:10.0.0.1"), "10.0.0.1");
});
