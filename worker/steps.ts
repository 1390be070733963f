import { hostname } from "node:os";
import type { TicketJob } from "../shared/checkout/enqueue.js";
import type { Deps } from "../shared/deps.js";
import { parseTicketId } from "../shared/keys.js";

// Thin wrappers over the ticket's Lua scripts (shared/lua/*.lua): each names
// the keys its script touches. One ticket's keys all share its sale's hash tag.

// A final ticket stays readable this long.
export const FINAL_TTL_S = 24 * 3600;

export function ticketKeys(deps: Deps, job: TicketJob) {
  const ref = parseTicketId(job.ticketId);
  if (!ref) throw new Error(`bad ticket id ${job.ticketId}`);
  const { keys } = deps;
  const s = ref.saleId;
  return {
    seq: ref.seq,
    sale: keys.sale(s),
    item: keys.item(s, job.itemId),
    held: keys.held(s),
    pending: keys.pending(s),
    ticket: keys.ticket(s, ref.seq),
    waitlist: keys.waitlist(s, job.itemId),
    line: keys.line(s, job.itemId),
    events: keys.events(s),
    ticketPrefix: keys.ticketPrefix(s),
  };
}

export type TicketKeys = ReturnType<typeof ticketKeys>;

export async function reserve(deps: Deps, k: TicketKeys): Promise<string[]> {
  return (await deps.redis.run(
    "reserve",
    [k.sale, k.item, k.held, k.pending, k.ticket, k.waitlist, k.line],
    [k.seq, FINAL_TTL_S, k.events],
  )) as string[];
}

// Which worker ran a payment, recorded on the ticket for operators.
const WORKER_ID = `${hostname()}:${process.pid}`;

// A slot's lease outlives its payment's deadline by this much, so a slot is only
// reclaimed from a worker that died, never from one still waiting on a payment.
export const LEASE_GRACE_MS = 1000;

// The slot semaphore is global and a ticket's keys are its sale's, so in a Redis
// Cluster they live in different slots and no one script may touch both. A lease is
// stretched before a payment starts and freed only after the ticket has moved on, so
// the split never lets more payments run than slots.
export async function startPayment(deps: Deps, k: TicketKeys, timeoutMs: number, holder: string) {
  const lease = (await deps.redis.run(
    "extendLease",
    [deps.keys.slots],
    [timeoutMs, holder, LEASE_GRACE_MS],
  )) as string[];
  if (lease[0] !== "leased") return lease;
  return (await deps.redis.run(
    "startPayment",
    [k.ticket],
    [lease[1] ?? 0, holder, WORKER_ID, k.events, k.seq],
  )) as string[];
}

export async function markPaid(deps: Deps, k: TicketKeys, holder: string): Promise<string[]> {
  const out = (await deps.redis.run("markPaid", [k.ticket], [])) as string[];
  await deps.redis.zrem(deps.keys.slots, holder);
  return out;
}

/**
 * Ends a ticket that holds a unit without a purchase. 'fail': the payment did not
 * go through; 'refuse': PostgreSQL refused this buyer. Either way the unit goes to
 * the earliest waiting ticket (returned) or back to stock. 'void': PostgreSQL
 * says the unit does not exist, so it leaves the stock.
 */
export async function release(
  deps: Deps,
  k: TicketKeys,
  reason: string,
  holder: string,
  mode: "fail" | "refuse" | "void" = "fail",
): Promise<string[]> {
  const out = (await deps.redis.run(
    "release",
    [k.sale, k.item, k.held, k.pending, k.ticket, k.waitlist, k.line],
    [reason, k.ticketPrefix, holder, FINAL_TTL_S, mode, k.events, k.seq],
  )) as string[];
  await deps.redis.zrem(deps.keys.slots, holder);
  return out;
}

export async function finalize(deps: Deps, k: TicketKeys, purchaseId: string): Promise<string[]> {
  return (await deps.redis.run(
    "finalize",
    [k.sale, k.item, k.pending, k.ticket, k.waitlist, k.line],
    [purchaseId, k.ticketPrefix, FINAL_TTL_S, k.events, k.seq],
  )) as string[];
}
