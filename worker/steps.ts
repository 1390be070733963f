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
    ticketPrefix: keys.ticketPrefix(s),
  };
}

export type TicketKeys = ReturnType<typeof ticketKeys>;

export async function reserve(deps: Deps, k: TicketKeys): Promise<string[]> {
  return (await deps.redis.run(
    "reserve",
    [k.sale, k.item, k.held, k.pending, k.ticket, k.waitlist],
    [k.seq, FINAL_TTL_S],
  )) as string[];
}

// Which worker ran a payment, recorded on the ticket for operators.
const WORKER_ID = `${hostname()}:${process.pid}`;

export async function startPayment(deps: Deps, k: TicketKeys, timeoutMs: number, holder: string) {
  return (await deps.redis.run("startPayment", [k.ticket], [timeoutMs, holder, WORKER_ID])) as string[];
}

export async function markPaid(deps: Deps, k: TicketKeys, holder: string): Promise<string[]> {
  return (await deps.redis.run("markPaid", [k.ticket, deps.keys.slots], [holder])) as string[];
}

/** Fails the ticket and hands its unit on; returns the ticket seq that got it, if any. */
export async function release(deps: Deps, k: TicketKeys, reason: string, holder: string): Promise<string[]> {
  return (await deps.redis.run(
    "release",
    [k.sale, k.item, k.held, k.pending, k.ticket, k.waitlist, deps.keys.slots],
    [reason, k.ticketPrefix, holder, FINAL_TTL_S, "fail"],
  )) as string[];
}

/** PostgreSQL refused the purchase: the unit does not exist after all, so it leaves the stock. */
export async function voidTicket(
  deps: Deps,
  k: TicketKeys,
  reason: string,
  holder: string,
): Promise<string[]> {
  return (await deps.redis.run(
    "release",
    [k.sale, k.item, k.held, k.pending, k.ticket, k.waitlist, deps.keys.slots],
    [reason, k.ticketPrefix, holder, FINAL_TTL_S, "void"],
  )) as string[];
}

export async function finalize(deps: Deps, k: TicketKeys, purchaseId: string): Promise<string[]> {
  return (await deps.redis.run(
    "finalize",
    [k.sale, k.item, k.pending, k.ticket, k.waitlist],
    [purchaseId, k.ticketPrefix, FINAL_TTL_S],
  )) as string[];
}
