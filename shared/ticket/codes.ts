import { randomFillSync } from "node:crypto";
import { parseTicketId } from "../keys.js";

// Checkout codes of two_step sales: "<ticket id>.<secret>". The secret is 128 bits from
// the OS's cryptographic random source, so a code cannot be guessed; the ticket id in
// front finds the ticket's keys without a lookup table.

// Filled in one system call and handed out a slice at a time: every checkout asks for a
// ticket key and every reservation for a code secret (kept only in a two_step sale), so
// each must cost next to nothing.
const POOL_SLICES = 256;

/** A source of `bytes` fresh random bytes at a time, as unpadded base64url. */
function randomSlices(bytes: number): () => string {
  const pool = Buffer.alloc(bytes * POOL_SLICES);
  let next = POOL_SLICES;
  return () => {
    if (next === POOL_SLICES) {
      randomFillSync(pool);
      next = 0;
    }
    const start = next++ * bytes;
    return pool.subarray(start, start + bytes).toString("base64url");
  };
}

/** 22 base64url characters (128 bits) of fresh randomness: a checkout code's secret. */
export const newCodeSecret = randomSlices(16);

/** 16 base64url characters (96 bits): the random part of a new ticket id (shared/keys.ts ticketId). */
export const newTicketKey = randomSlices(12);

// What newCodeSecret makes: 16 bytes in unpadded base64url.
const SECRET = /^[A-Za-z0-9_-]{22}$/;

export const formatCode = (ticketId: string, secret: string) => `${ticketId}.${secret}`;

/** The ticket and secret of a well-formed code; null for anything else. */
export function parseCode(code: string): { saleId: string; seq: string; key: string; secret: string } | null {
  // A ticket id has no dot, so the first one ends it.
  const dot = code.indexOf(".");
  if (dot < 0) return null;
  const secret = code.slice(dot + 1);
  const ticket = SECRET.test(secret) ? parseTicketId(code.slice(0, dot)) : null;
  return ticket ? { ...ticket, secret } : null;
}
