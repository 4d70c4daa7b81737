/**
 * The answer for one resolved file (SPEC §3): validators and preconditions
 * (304/412), byte ranges (206/416, multipart), and content coding
 * (precompressed `.br`/`.gz` siblings, else gzip on the fly).
 * @module
 */

import { HttpError } from "../http/http_error.ts";
import type { BodyStream, HttpResponse } from "../http/response.ts";
import { evaluatePreconditions, fileETag, ifRangeHolds, type Validators } from "./conditional.ts";
import { attachmentDisposition, type ServedType } from "./content_types.ts";
import { chooseCoding, type Coding, isCompressible, MIN_COMPRESS_BYTES } from "./encoding.ts";
import { fileStream, gzipStream, headOnly, multipartStream } from "./file_body.ts";
import { multipartFraming, parseRange } from "./ranges.ts";

/** A regular file inside the web root, checked and typed. */
export interface ResolvedFile {
  /** Its real path. */
  path: string;
  /** Its name, for Content-Disposition. */
  name: string;
  size: number;
  mtimeMs: number;
  served: ServedType;
}

/** What the answer depends on besides the file. */
export interface FileResponseContext {
  /** A request header by lowercase name. */
  header: (name: string) => string | undefined;
  /** The request is HEAD. */
  head: boolean;
  /** The Cache-Control value for files. */
  cacheControl: string;
}

/**
 * Builds the response for `file`: 200, 206, 304, 412 (thrown) or 416.
 *
 * @example
 * ```ts ignore
 * import { fileResponse } from "./file_response.ts";
 * const response = await fileResponse(file, { header, head: false, cacheControl: "no-cache" });
 * ```
 */
export async function fileResponse(
  file: ResolvedFile,
  context: FileResponseContext,
): Promise<HttpResponse> {
  const { header, head } = context;
  const compressible = !file.served.attachment && isCompressible(file.served.type);
  const range = head ? undefined : header("range");
  const variant = compressible && range === undefined
    ? await _chooseVariant(file, header("accept-encoding"))
    : null;
  const validators: Validators = {
    etag: fileETag(file.size, file.mtimeMs, variant?.coding ?? null),
    mtimeMs: file.mtimeMs,
  };
  const headers = _fileHeaders(file, validators, context.cacheControl, compressible);
  const precondition = evaluatePreconditions(header, validators);
  if (precondition === "failed") {
    throw new HttpError(412, "Precondition failed", { headers: compressible ? [_VARY] : [] });
  }
  if (precondition === "not-modified") {
    return {
      status: 304,
      headers: headers.filter(([name]) => _NOT_MODIFIED.has(name)),
      body: null,
    };
  }
  if (variant !== null) {
    headers.push(["Content-Encoding", variant.coding]);
    return { status: 200, headers, body: await _variantBody(file, variant, head) };
  }
  if (range !== undefined && ifRangeHolds(header("if-range"), validators)) {
    return await _rangeResponse(file, range, headers, compressible);
  }
  return { status: 200, headers, body: head ? headOnly(file.size) : await _whole(file) };
}

const _VARY: [string, string] = ["Vary", "Accept-Encoding"];
/** What a 304 repeats of the 200 (RFC 9110 §15.4.5). */
const _NOT_MODIFIED = new Set(["ETag", "Last-Modified", "Cache-Control", "Vary"]);

/** An encoded representation: a precompressed sibling, or gzip made on the fly. */
interface Variant {
  coding: Coding;
  /** The sibling's path and size, or `null` when compressed on the fly. */
  sibling: { path: string; size: number } | null;
}

async function _chooseVariant(
  file: ResolvedFile,
  accept: string | undefined,
): Promise<Variant | null> {
  if (accept === undefined) return null;
  const siblings = new Map<Coding, { path: string; size: number }>();
  for (const [coding, suffix] of [["br", ".br"], ["gzip", ".gz"]] as const) {
    const sibling = await _freshSibling(file, file.path + suffix);
    if (sibling !== null) siblings.set(coding, sibling);
  }
  const offered: Coding[] = [...siblings.keys()];
  if (!siblings.has("gzip") && file.size > MIN_COMPRESS_BYTES) offered.push("gzip");
  const coding = chooseCoding(accept, offered);
  return coding === null ? null : { coding, sibling: siblings.get(coding) ?? null };
}

/** A precompressed sibling that is a regular file (not a link) and not older than the original. */
async function _freshSibling(file: ResolvedFile, path: string) {
  try {
    const info = await Deno.lstat(path);
    if (!info.isFile || (info.mtime?.getTime() ?? 0) < file.mtimeMs) return null;
    return { path, size: info.size };
  } catch {
    return null;
  }
}

function _fileHeaders(
  file: ResolvedFile,
  validators: Validators,
  cacheControl: string,
  compressible: boolean,
): [string, string][] {
  const headers: [string, string][] = [["Content-Type", file.served.type]];
  if (file.served.attachment) {
    headers.push(["Content-Disposition", attachmentDisposition(file.name)]);
  }
  headers.push(
    ["ETag", validators.etag],
    ["Last-Modified", new Date(file.mtimeMs).toUTCString()],
    ["Cache-Control", cacheControl],
    ["Accept-Ranges", "bytes"],
  );
  if (compressible) headers.push(_VARY);
  return headers;
}

async function _variantBody(file: ResolvedFile, variant: Variant, head: boolean) {
  if (variant.sibling !== null) {
    if (head) return headOnly(variant.sibling.size);
    return fileStream(await _open(variant.sibling.path), 0, variant.sibling.size);
  }
  return head ? headOnly(null) : gzipStream(await _open(file.path), file.size);
}

async function _rangeResponse(
  file: ResolvedFile,
  header: string,
  headers: [string, string][],
  compressible: boolean,
): Promise<HttpResponse> {
  const request = parseRange(header, file.size);
  if (request.kind === "full") return { status: 200, headers, body: await _whole(file) };
  if (request.kind === "unsatisfiable") {
    throw new HttpError(416, "Range not satisfiable", {
      headers: [["Content-Range", `bytes */${file.size}`], ...(compressible ? [_VARY] : [])],
    });
  }
  const { ranges } = request;
  if (ranges.length === 1) {
    const [{ start, end }] = ranges;
    headers.push(["Content-Range", `bytes ${start}-${end}/${file.size}`]);
    return {
      status: 206,
      headers,
      body: fileStream(await _open(file.path), start, end - start + 1),
    };
  }
  const boundary = crypto.randomUUID().replaceAll("-", "");
  const framing = multipartFraming(ranges, file.size, file.served.type, boundary);
  const type = headers.findIndex(([name]) => name === "Content-Type");
  headers[type] = ["Content-Type", `multipart/byteranges; boundary=${boundary}`];
  return { status: 206, headers, body: multipartStream(await _open(file.path), ranges, framing) };
}

async function _whole(file: ResolvedFile): Promise<BodyStream> {
  return fileStream(await _open(file.path), 0, file.size);
}

async function _open(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { read: true });
  } catch {
    throw new HttpError(404, "Not found");
  }
}
