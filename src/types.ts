/**
 * Types that cross the layers: what start-up found, handed down to the server
 * and its workers. The layers import this module; it imports nothing of theirs.
 * @module
 */

/** What start-up found, for the server. */
export interface Prepared {
  /** The web root's real path. */
  realRoot: string;
  /** Bytes of uploads already stored, for the quota. */
  uploadBytes: number;
  /** The upload token, or `null` when uploads need none. */
  uploadToken: string | null;
  /** PEM certificate and key when serving TLS. */
  tls: { cert: string; key: string } | null;
}
