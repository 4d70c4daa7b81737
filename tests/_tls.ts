/**
 * TLS fixtures for integration tests: a throwaway self-signed certificate
 * and a raw request over TLS.
 * @module
 */

import { join } from "node:path";
import { assertEquals } from "./_assert.ts";

/** A self-signed certificate for localhost and 127.0.0.1, made with openssl. */
export async function selfSigned(): Promise<{ cert: string; key: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "bastion-tls-" });
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const { code, stderr } = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-addext",
      "basicConstraints=critical,CA:FALSE",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(new TextDecoder().decode(stderr));
  return { cert, key, dir };
}

/** One request over TLS to localhost, trusting `caCert`; the whole answer as text. */
export async function tlsRequest(port: number, caCert: string, request: string): Promise<string> {
  const conn = await Deno.connectTls({
    hostname: "localhost",
    port,
    caCerts: [caCert],
    alpnProtocols: ["http/1.1"],
  });
  try {
    const handshake = await conn.handshake();
    assertEquals(handshake.alpnProtocol, "http/1.1");
    await conn.write(new TextEncoder().encode(request));
    let text = "";
    const buffer = new Uint8Array(65536);
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    return text;
  } finally {
    try {
      conn.close();
    } catch { /* closed by the server */ }
  }
}
