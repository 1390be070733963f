import { randomFillSync } from "node:crypto";

// Checkout codes of two_step sales: "<ticket id>.<secret>". The secret is 128 bits from
// the OS's cryptographic random source, so a code cannot be guessed; the ticket id in
// front finds the ticket's keys without a lookup table (ticket ids are not secret).

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

const CODE = /^([0-9]{1,18})-([0-9]{1,18})\.([A-Za-z0-9_-]{22})$/;

export const formatCode = (ticketId: string, secret: string) => `${ticketId}.${secret}`;

/** The ticket and secret of a well-formed code; null for anything else. */
export function parseCode(code: string): { saleId: string; seq: string; secret: string } | null {
  const m = CODE.exec(code);
  return m?.[1] && m[2] && m[3] ? { saleId: m[1], seq: m[2], secret: m[3] } : null;
}
