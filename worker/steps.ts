import { hostname } from "node:os";
import { newCodeSecret } from "../shared/checkout/codes.js";
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
    mode: keys.saleMode(s),
    events: keys.events(s),
    ticketPrefix: keys.ticketPrefix(s),
  };
}

export type TicketKeys = ReturnType<typeof ticketKeys>;

export async function reserve(deps: Deps, k: TicketKeys): Promise<string[]> {
  return (await deps.redis.run(
    "reserve",
    [k.sale, k.item, k.held, k.pending, k.ticket, k.waitlist, k.line, k.mode],
    [k.seq, FINAL_TTL_S, k.events, newCodeSecret()],
  )) as string[];
}

// Which worker ran a payment, recorded on the ticket for operators.
const WORKER_ID = `${hostname()}:${process.pid}`;

// A slot's lease outlives its payment's deadline by this much, so a slot is only
// reclaimed from a worker that died, never from one still waiting on a payment.
export const LEASE_GRACE_MS = 1000;

// A payment may start up to this much shorter than its timeout (its slot was granted
// a moment ago with a lease for a whole timeout) before the lease is stretched first.
const SHORTFALL_MS = 50;

// The slot semaphore is global and a ticket's keys are its sale's, so in a Redis
// Cluster they live in different slots and no one script may touch both. A payment's
// deadline never passes its lease (minus the grace), and the slot is freed only after
// the ticket has moved on, so the split never lets more payments run than slots.
export async function startPayment(
  deps: Deps,
  k: TicketKeys,
  timeoutMs: number,
  holder: string,
  leaseUntil = 0,
): Promise<string[]> {
  const start = (until: number, shortfall: number) =>
    deps.redis.run(
      "startPayment",
      [k.ticket],
      [timeoutMs, holder, WORKER_ID, k.events, k.seq, until, LEASE_GRACE_MS, shortfall],
    ) as Promise<string[]>;
  // Fresh from acquire-slots, the lease already covers the payment: one round trip, not two.
  const first = leaseUntil > 0 ? await start(leaseUntil, SHORTFALL_MS) : ["extend"];
  if (first[0] !== "extend") return first;
  const lease = (await deps.redis.run(
    "extendLease",
    [deps.keys.slots],
    [timeoutMs, holder, LEASE_GRACE_MS],
  )) as string[];
  if (lease[0] !== "leased") return lease;
  // Just stretched: whatever the round trip took comes off this payment's time, never off the lease.
  return start(Number(lease[1]) + LEASE_GRACE_MS, Number.MAX_SAFE_INTEGER);
}

export async function markPaid(deps: Deps, k: TicketKeys, holder: string): Promise<string[]> {
  // Sent together, one round trip: on one Redis they run in this order. In a cluster
  // they may cross, which is harmless: the payment has ended (the simulator counted
  // it out), and no attempt ever pays a ticket twice.
  const [out] = await Promise.all([
    deps.redis.run("markPaid", [k.ticket], [holder]) as Promise<string[]>,
    deps.redis.zrem(deps.keys.slots, holder),
  ]);
  return out;
}

/**
 * Ends a ticket that holds a unit without a purchase. 'fail': the payment did not
 * go through; 'refuse': PostgreSQL refused this buyer; 'expire': a two_step hold was
 * not confirmed in time. Each time the unit goes to the earliest waiting ticket
 * (returned) or back to stock. 'void': PostgreSQL says the unit does not exist, so
 * it leaves the stock.
 */
export async function release(
  deps: Deps,
  k: TicketKeys,
  reason: string,
  holder: string,
  mode: "fail" | "refuse" | "void" | "expire" = "fail",
): Promise<string[]> {
  const out = (await deps.redis.run(
    "release",
    [k.sale, k.item, k.held, k.pending, k.ticket, k.waitlist, k.line, k.mode],
    [reason, k.ticketPrefix, holder, FINAL_TTL_S, mode, k.events, k.seq, newCodeSecret()],
  )) as string[];
  // An expired hold never took a slot.
  if (holder) await deps.redis.zrem(deps.keys.slots, holder);
  return out;
}

/** Mirrors a committed purchase in Redis; when it sold the item's last unit, the seqs of the waiters it rejected. */
export async function finalize(
  deps: Deps,
  k: TicketKeys,
  purchaseId: string,
): Promise<{ done: string; rejected: string[] }> {
  const [done, , rejected] = (await deps.redis.run(
    "finalize",
    [k.sale, k.item, k.pending, k.ticket, k.waitlist, k.line],
    [purchaseId, k.ticketPrefix, FINAL_TTL_S, k.events, k.seq],
  )) as [string, number, string[] | undefined];
  return { done, rejected: rejected ?? [] };
}
