import { FINAL } from "../../shared/ticket/view.js";
import { type Check, countBy, info, invariant } from "./check.js";
import { GUARD_CONSTRAINTS, type SaleState } from "./state.js";

// Invariants about tickets and buyers: double sales, the per-user limit, every
// ticket ending, durability, PostgreSQL's guards and the payment slots.

export function noDoubleSale(s: SaleState): Check {
  const v: string[] = [];
  const perTicket = countBy(s.purchases, (p) => p.ticket_id);
  for (const [ticket, n] of perTicket) if (n > 1) v.push(`ticket ${ticket}: ${n} purchases`);
  const tickets = new Map(s.tickets.map((t) => [t.id, t]));
  for (const p of s.purchases) {
    const t = tickets.get(p.ticket_id);
    // A ticket Redis no longer holds (expired, or Redis was lost) cannot contradict its purchase.
    if (t && t.status !== "purchased") v.push(`purchase ${p.id}: its ticket ${t.id} is ${t.status}`);
    else if (t && t.purchaseId !== p.id)
      v.push(`purchase ${p.id}: ticket ${t.id} names purchase ${t.purchaseId}`);
    if (t && (t.user !== p.user_id || t.item !== p.item_id))
      v.push(`purchase ${p.id}: not the user and item of ticket ${t.id}`);
  }
  return invariant(
    "no_double_sale",
    "each purchase belongs to exactly one ticket",
    s.purchases.length,
    "purchases",
    v,
  );
}

export function userLimit(s: SaleState): Check {
  const v: string[] = [];
  const limit = s.userLimit ?? Number.POSITIVE_INFINITY;
  const perUser = countBy(s.purchases, (p) => p.user_id);
  for (const [user, n] of perUser) if (n > limit) v.push(`user ${user}: ${n} purchases, limit ${limit}`);
  for (const [user, n] of Object.entries(s.held)) {
    const total = Number(n) + Number(s.pending[user] ?? 0);
    if (total > limit)
      v.push(`user ${user}: Redis holds ${n} + ${s.pending[user] ?? 0} in line, limit ${limit}`);
  }
  const users = new Set([...perUser.keys(), ...Object.keys(s.held)]);
  return invariant(
    "user_limit",
    `no user holds more than the limit (${s.userLimit})`,
    users.size,
    "users",
    v,
  );
}

export function pgGuards(s: SaleState): Check {
  const missing = GUARD_CONSTRAINTS.filter((c) => !s.constraints.includes(c));
  return invariant(
    "two_guards",
    "PostgreSQL's own constraints hold the limits at settlement",
    GUARD_CONSTRAINTS.length,
    "constraints",
    missing.map((c) => `constraint ${c} is missing`),
  );
}

export function everyTicketFinal(s: SaleState): Check {
  const v: string[] = [];
  for (const t of s.tickets) if (!FINAL.has(t.status)) v.push(`ticket ${t.id} is ${t.status}`);
  const inRedis = new Set(s.tickets.map((t) => t.id));
  const bought = new Set(s.purchases.map((p) => p.ticket_id));
  let lost = 0;
  // A retired sale's final tickets left Redis with it, on purpose.
  for (const id of s.retired ? [] : s.accepted) {
    if (inRedis.has(id) || bought.has(id)) continue;
    lost++;
    v.push(`ticket ${id} was accepted and is neither in Redis nor purchased`);
  }
  return invariant(
    "tickets_final",
    "every accepted ticket ended: purchased, rejected or failed",
    s.tickets.length + lost,
    "tickets",
    v,
  );
}

export function durability(s: SaleState): Check {
  const v: string[] = [];
  const byTicket = new Map(s.purchases.map((p) => [p.ticket_id, p]));
  const purchased = s.tickets.filter((t) => t.status === "purchased");
  for (const t of purchased) {
    const p = byTicket.get(t.id);
    if (!p) v.push(`ticket ${t.id} is purchased but PostgreSQL has no purchase for it`);
    else if (p.id !== t.purchaseId)
      v.push(`ticket ${t.id} names purchase ${t.purchaseId}, PostgreSQL ${p.id}`);
  }
  return invariant(
    "durability",
    "every ticket shown purchased is committed in PostgreSQL",
    purchased.length,
    "purchased tickets",
    v,
  );
}

export function slotsAtRest(s: SaleState): Check {
  const v: string[] = [];
  if (s.slots.held > 0) v.push(`${s.slots.held} payment slots still held`);
  if (s.slots.inFlight > 0) v.push(`${s.slots.inFlight} payments still in flight`);
  if (s.slots.cap !== null && s.slots.peak > s.slots.cap)
    v.push(`peak in flight ${s.slots.peak} > ${s.slots.cap} slots`);
  return invariant(
    "slot_cap",
    `payments at once <= slots (peak ${s.slots.peak} of ${s.slots.cap ?? "?"}); none held at rest (system-wide)`,
    1,
    "semaphore",
    v,
  );
}

export function soldShare(s: SaleState): Check {
  const stock = s.pgItems.reduce((n, it) => n + it.stock, 0);
  const sold = s.pgItems.reduce((n, it) => n + it.sold, 0);
  return info(
    "sold",
    `sold, of ${stock} in stock (no undersell: all of it sells while demand lasts)`,
    sold,
    "units",
  );
}
