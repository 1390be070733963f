// The short field names of the two hashes every ticket step touches, and what each
// means, in one place: the Lua scripts and the TypeScript readers both spell them out
// (short, to keep a sale's many hashes small), so this is where a reader of either looks
// one up. The sale hash keeps the item counters tot, av, rs, sd and q summed over its
// items, beside fields of its own (shared/sale/publish-sale.lua).

/** A ticket: keys.ticket(sale, seq), written by admit.lua, then by each step's script. */
export const TICKET_HASH = {
  st: "status: queued, reserved, paying, purchased, rejected or failed",
  why: "rejected or failed: why (sold_out, user_limit_reached, sale_not_active, cancelled, unavailable, payment_declined, payment_timeout, hold_expired)",
  u: "the user's id",
  i: "the item's id",
  k: "the random key in the ticket's id: only whoever holds the id may read the ticket",
  pos: "queued: its place in the item's line at admission (cleared once it leaves the line)",
  ord: "its place in line, drawn at the fair-start room's opening (without it, its seq is its place)",
  oa: "in the fair-start room: when the room opens (ms)",
  ca: "accepted at (ms)",
  ua: "last changed at (ms, Redis clock)",
  two: "'1' in a two_step sale",
  cd: "two_step: the checkout code's secret, once a unit is held",
  ex: "two_step: when the hold expires unless confirmed (ms, Redis clock)",
  cf: "two_step: '1' once POST /purchase confirmed the hold",
  pd: "paying: the payment's deadline (ms, Redis clock)",
  sh: "paying: the payment slot's holder (one per attempt)",
  w: "paying: the worker that runs the payment (host:pid), for operators",
  paid: "'1' once the payment succeeded (mark-paid.lua)",
  pid: "purchased: the purchase's id in PostgreSQL",
} as const;
export type TicketField = keyof typeof TICKET_HASH;

/** An item of a sale: keys.item(sale, item). av + rs + sd = tot at every step. */
export const ITEM_HASH = {
  tot: "total stock",
  av: "available: units free to reserve",
  rs: "reserved: units held by a ticket not yet purchased",
  sd: "sold: units purchased",
  q: "queued: tickets in the item's line, waiting to reserve",
  gap: "the line's pace: ms between departures, smoothed (left-line.lua)",
  gn: "how many departures the pace is smoothed over",
  lt: "when a ticket last left the line (ms); absent with an empty line",
} as const;
export type ItemField = keyof typeof ITEM_HASH;

/** A unit count of an item or a sale, as every view shows it. */
export interface Stock {
  total: number;
  available: number;
  reserved: number;
  sold: number;
}

/** The stock fields, in stockOf's order, of an item hash (or a sale hash's sums). */
export const STOCK_FIELDS = ["tot", "av", "rs", "sd"] as const satisfies readonly ItemField[];

const count = (v: string | null | undefined) => (v ? Number(v) : 0);

/** Stock from the values of STOCK_FIELDS (HMGET's answer; a missing field counts 0). */
export function stockOf(fields: (string | null | undefined)[]): Stock {
  const [tot, av, rs, sd] = fields;
  return { total: count(tot), available: count(av), reserved: count(rs), sold: count(sd) };
}

/**
 * Whether a sale's fair-start room (its mode hash's `fs`: 'room' filling, 'draining' being
 * queued, 'open' done) still has tickets its opener must queue.
 */
export const roomToOpen = (fs: string | null): boolean => fs === "room" || fs === "draining";
