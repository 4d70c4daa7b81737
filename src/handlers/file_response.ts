/**
 * The answer for one resolved file (`docs/protocol.md`): validators and preconditions
 * (304/412), byte ranges (206/416, multipart), and content coding
 * (precompressed `.br`/`.gz` siblings, else gzip on the fly).
 * @module
 */

import { HttpError } from "../http/http_error.ts";
import { STATUS_CODE } from "../http/status.ts";
import type { BodyStream, HttpResponse } from "../http/response.ts";
import { evaluatePreconditions, fileETag, ifRangeHolds, type Validators } from "./conditional.ts";
import { attachmentDisposition } from "./content_types.ts";
import {
  chooseCoding,
  type Coding,
  type CompressionBudget,
  MIN_COMPRESS_BYTES,
} from "./encoding.ts";
import {
  bytesOfUnknownLength,
  fileStream,
  gzipStream,
  headOnly,
  multipartStream,
} from "./file_body.ts";
import type { ResolvedFile, Sibling } from "./file_cache.ts";
import { openInside } from "./open_inside.ts";
import { type ByteRange, multipartFraming, parseRange } from "./ranges.ts";

export type { ResolvedFile };

/** What the answer depends on besides the file. */
export interface FileResponseContext {
  /** A request header by lowercase name. */
  header: (name: string) => string | undefined;
  /** The request is HEAD. */
  head: boolean;
  /** The Cache-Control value for files. */
  cacheControl: string;
  /** Bodies gzipped on the fly at once; past it, files go as they are. @default unlimited */
  compressions?: CompressionBudget;
}

/**
 * Builds the response for `file`: 200, 206, 304, 412 (thrown) or 416.
 *
 * @example
 * ```ts
 * import { fileResponse } from "./file_response.ts";
 * import type { ResolvedFile } from "./file_cache.ts";
 * declare const file: ResolvedFile, header: (name: string) => string | undefined;
 * const response = await fileResponse(file, { header, head: false, cacheControl: "no-cache" });
 * ```
 */
export async function fileResponse(
  file: ResolvedFile,
  context: FileResponseContext,
): Promise<HttpResponse> {
  const { header, head } = context;
  const { compressible } = file.served;
  const range = head ? undefined : header("range");
  const variant = compressible && range === undefined
    ? _chooseVariant(file, header("accept-encoding"), context.compressions?.available ?? true)
    : null;
  const validators: Validators = {
    etag: variant === null ? file.etag : fileETag(file.size, file.mtimeMs, variant.coding),
    mtimeMs: file.mtimeMs,
  };
  const headers = variant === null
    ? _plainHeaders(file, validators, context.cacheControl, compressible)
    : _fileHeaders(file, validators, context.cacheControl, compressible);
  const precondition = evaluatePreconditions(header, validators);
  if (precondition === "failed") {
    throw new HttpError(STATUS_CODE.PreconditionFailed, "Precondition failed", {
      headers: compressible ? [_VARY] : [],
    });
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
    return {
      status: 200,
      headers,
      body: await _variantBody(file, variant, head, context.compressions),
    };
  }
  if (range !== undefined && ifRangeHolds(header("if-range"), validators)) {
    return await _rangeResponse(file, range, headers, compressible);
  }
  return {
    status: 200,
    headers,
    body: head ? headOnly(file.size) : file.content ?? await _stream(file),
  };
}

const _VARY: [string, string] = ["Vary", "Accept-Encoding"];
/** What a 304 repeats of the 200 (RFC 9110 §15.4.5). */
const _NOT_MODIFIED = new Set(["ETag", "Last-Modified", "Cache-Control", "Vary"]);

/** An encoded representation: a precompressed sibling, or gzip made on the fly. */
interface Variant {
  coding: Coding;
  /** The precompressed sibling, or `null` when compressed on the fly. */
  sibling: Sibling | null;
}

/** The best coding the client takes; gzip made on the fly only while `onTheFly` allows. */
function _chooseVariant(
  file: ResolvedFile,
  accept: string | undefined,
  onTheFly: boolean,
): Variant | null {
  if (accept === undefined) return null;
  const offered: Coding[] = [...file.siblings.keys()];
  const made = file.gzipped !== null || onTheFly;
  if (!file.siblings.has("gzip") && file.size > MIN_COMPRESS_BYTES && made) offered.push("gzip");
  const coding = chooseCoding(accept, offered);
  return coding === null ? null : { coding, sibling: file.siblings.get(coding) ?? null };
}

/**
 * The headers of the file as it is (no content coding), made once per file
 * and Cache-Control value: a new list each time, of the same (never changed) pairs.
 */
function _plainHeaders(
  file: ResolvedFile,
  validators: Validators,
  cacheControl: string,
  compressible: boolean,
): (readonly [string, string])[] {
  const kept = file.plainHeaders.get(
    cacheControl,
    () => _fileHeaders(file, validators, cacheControl, compressible),
  );
  return kept.slice();
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
    ["Last-Modified", file.lastModified],
    ["Cache-Control", cacheControl],
    ["Accept-Ranges", "bytes"],
  );
  if (compressible) headers.push(_VARY);
  return headers;
}

async function _variantBody(
  file: ResolvedFile,
  variant: Variant,
  head: boolean,
  budget: CompressionBudget | undefined,
) {
  if (variant.sibling !== null) {
    if (head) return headOnly(variant.sibling.size);
    const sibling = await openInside({ ...variant.sibling, root: file.root });
    return fileStream(sibling, 0, variant.sibling.size);
  }
  if (head) return headOnly(null);
  // Made on the fly (even if kept since): chunked, as HEAD announces.
  if (file.gzipped !== null) return bytesOfUnknownLength(file.gzipped());
  // Taken before any await: the check in _chooseVariant still holds.
  budget?.take();
  try {
    return gzipStream(await openInside(file), file.size, () => budget?.give());
  } catch (error) {
    budget?.give();
    throw error;
  }
}

async function _rangeResponse(
  file: ResolvedFile,
  header: string,
  headers: (readonly [string, string])[],
  compressible: boolean,
): Promise<HttpResponse> {
  const request = parseRange(header, file.size);
  if (request.kind === "full") {
    return { status: 200, headers, body: file.content ?? await _stream(file) };
  }
  if (request.kind === "unsatisfiable") {
    throw new HttpError(STATUS_CODE.RangeNotSatisfiable, "Range not satisfiable", {
      headers: [["Content-Range", `bytes */${file.size}`], ...(compressible ? [_VARY] : [])],
    });
  }
  const { ranges } = request;
  if (ranges.length === 1) {
    const [{ start, end }] = ranges;
    headers.push(["Content-Range", `bytes ${start}-${end}/${file.size}`]);
    const body = file.content !== null
      ? file.content.subarray(start, end + 1)
      : fileStream(await openInside(file), start, end - start + 1);
    return { status: 206, headers, body };
  }
  const boundary = crypto.randomUUID().replaceAll("-", "");
  const framing = multipartFraming(ranges, file.size, file.served.type, boundary);
  const type = headers.findIndex(([name]) => name === "Content-Type");
  headers[type] = ["Content-Type", `multipart/byteranges; boundary=${boundary}`];
  const body = file.content !== null
    ? _multipartBytes(file.content, ranges, framing)
    : multipartStream(await openInside(file), ranges, framing);
  return { status: 206, headers, body };
}

function _multipartBytes(
  content: Uint8Array,
  ranges: ByteRange[],
  framing: { heads: string[]; tail: string; length: number },
): Uint8Array {
  const out = new Uint8Array(framing.length);
  let offset = 0;
  ranges.forEach(({ start, end }, i) => {
    const head = encoder.encode(framing.heads[i]);
    out.set(head, offset);
    out.set(content.subarray(start, end + 1), offset + head.length);
    offset += head.length + end - start + 1;
  });
  out.set(encoder.encode(framing.tail), offset);
  return out;
}

/** The whole file, streamed (a file without cached content). */
async function _stream(file: ResolvedFile): Promise<BodyStream> {
  return fileStream(await openInside(file), 0, file.size);
}

const encoder = new TextEncoder();
