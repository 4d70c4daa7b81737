import { assertEquals } from "../../tests/_assert.ts";
import { TrustedProxies } from "./trust_proxy.ts";

Deno.test("TrustedProxies.clientAddress() ignores forwarding headers from untrusted peers", () => {
  const proxies = new TrustedProxies(["10.0.0.0/8"]);
  assertEquals(
    proxies.clientAddress("192.0.2.7", [["x-forwarded-for", "203.0.113.1"]]),
    "192.0.2.7",
  );
  assertEquals(
    new TrustedProxies([]).clientAddress("10.0.0.1", [["x-forwarded-for", "1.2.3.4"]]),
    "10.0.0.1",
  );
});

Deno.test("TrustedProxies.clientAddress() takes the nearest untrusted hop from the right", () => {
  const proxies = new TrustedProxies(["10.0.0.0/8", "::1"]);
  const fields: [string, string][] = [["x-forwarded-for", "198.51.100.1, 203.0.113.5, 10.1.1.1"]];
  assertEquals(
    proxies.clientAddress("10.0.0.2", fields),
    "203.0.113.5",
    "a spoofed left hop is not believed",
  );
  assertEquals(proxies.clientAddress("::1", [["x-forwarded-for", "2001:db8::5"]]), "2001:db8::5");
  assertEquals(proxies.clientAddress("10.0.0.2", [["x-forwarded-for", "not-an-ip"]]), "10.0.0.2");
  assertEquals(proxies.clientAddress("10.0.0.2", []), "10.0.0.2");
});

Deno.test("TrustedProxies.clientAddress() reads Forwarded for= with quotes, brackets and ports", () => {
  const proxies = new TrustedProxies(["127.0.0.1"]);
  assertEquals(
    proxies.clientAddress("127.0.0.1", [["forwarded", 'for="[2001:db8::1]:4711";proto=https']]),
    "2001:db8::1",
  );
  assertEquals(
    proxies.clientAddress("127.0.0.1", [["forwarded", "for=192.0.2.60:80, for=127.0.0.1"]]),
    "192.0.2.60",
  );
});

Deno.test("TrustedProxies.trusts() matches IPv4 and IPv6 ranges", () => {
  assertEquals(new TrustedProxies(["2001:db8::/32"]).trusts("2001:db8:ffff::1"), true);
  assertEquals(new TrustedProxies(["2001:db8::/32"]).trusts("2001:db9::1"), false);
  assertEquals(new TrustedProxies(["192.168.0.0/23"]).trusts("192.168.1.200"), true);
  assertEquals(new TrustedProxies(["192.168.0.0/23"]).trusts("192.168.2.1"), false);
});
