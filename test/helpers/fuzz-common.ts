import { badString, unknownId } from "./fuzz-values.js";
import type { Rng } from "./prng.js";

export interface FuzzRequest {
  family: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}
/** Bytes written to a socket as they are, for what an HTTP client refuses to send. */
export interface RawRequest {
  family: string;
  raw: string;
}
export type Generated = FuzzRequest | RawRequest;

export interface FuzzCtx {
  saleId: string;
  adminAuth: string;
}

/** Percent-encodes the UTF-8 bytes of any string (encodeURIComponent throws on lone surrogates). */
export function enc(s: string): string {
  let out = "";
  for (const b of Buffer.from(s, "utf8")) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9_.~-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export const JSON_HEADERS = { "content-type": "application/json" };

/** A path segment: a bad id, or sometimes a well-formed one that names nothing. */
export const segment = (r: Rng) => (r.chance(0.25) ? unknownId(r) : enc(badString(r)));
