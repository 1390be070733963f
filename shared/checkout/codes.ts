import { randomFillSync } from "node:crypto";
import { parseTicketId } from "../keys.js";

// Checkout codes of two_step sales: "<ticket id>.<secret>". The secret is 128 bits from
// the OS's cryptographic random source, so a code cannot be guessed; the ticket id in
// front finds the ticket's keys without a lookup table.

const SECRET_BYTES = 16;
// Filled in one system call and handed out a slice at a time: every reservation asks
// for a secret (it is only kept in a two_step sale), so it must cost next to nothing.
const POOL_SECRETS = 256;
const pool = Buffer.alloc(SECRET_BYTES * POOL_SECRETS);
let next = POOL_SECRETS;

/** 22 base64url characters of fresh randomness. */
export function newCodeSecret(): string {
  if (next === POOL_SECRETS) {
    randomFillSync(pool);
    next = 0;
  }
  const start = next++ * SECRET_BYTES;
  return pool.subarray(start, start + SECRET_BYTES).toString("base64url");
}

// A ticket id's key: 12 bytes (96 bits), 16 base64url characters, from its own pool.
const KEY_BYTES = 12;
const keyPool = Buffer.alloc(KEY_BYTES * POOL_SECRETS);
let nextKey = POOL_SECRETS;

/** The random part of a new ticket id (shared/keys.ts ticketId). */
export function newTicketKey(): string {
  if (nextKey === POOL_SECRETS) {
    randomFillSync(keyPool);
    nextKey = 0;
  }
  const start = nextKey++ * KEY_BYTES;
  return keyPool.subarray(start, start + KEY_BYTES).toString("base64url");
}

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
