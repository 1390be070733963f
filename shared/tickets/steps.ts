import { hostname } from "node:os";
import { newCodeSecret } from "../checkout/codes.js";
import type { TicketJob } from "../checkout/enqueue.js";
import type { Deps } from "../deps.js";
import { parseTicketId } from "../keys.js";
import { FINAL_TTL_S } from "./view.js";

// Thin wrappers over the ticket's Lua scripts (shared/lua/*.lua): each names
// the keys its script touches. One ticket's keys all share its sale's hash tag.

export function ticketKeys(deps: Pick<Deps, "keys">, job: TicketJob) {
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
  const [out] = await reserveMany(deps, [k]);
  return out ?? [];
}

/**
 * Reserves for the tickets of one sale in one call, in the order given (ticket order
 * within a batch job); one result per ticket, as reserve's.
 */
export async function reserveMany(deps: Deps, ks: TicketKeys[]): Promise<string[][]> {
  const [first] = ks;
  if (!first) return [];
  const keys = [first.sale, first.held, first.pending, first.mode];
  const args: (string | number)[] = [FINAL_TTL_S, first.events];
  for (const k of ks) {
    keys.push(k.item, k.ticket, k.waitlist, k.line);
    args.push(k.seq, newCodeSecret());
  }
  return (await deps.redis.run("reserve", keys, args)) as string[][];
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
export interface PaymentStart {
  k: TicketKeys;
  holder: string;
  /** The slot's lease expiry (ms, Redis clock) as granted; 0 when unknown (the lease is stretched first). */
  leaseUntil: number;
}

/**
 * Starts paying reserved tickets of one sale that hold slots, in one call; one result per
 * ticket: ['paying', deadline] | ['busy', deadline] (another attempt pays it) | [status]
 * | ['noslot'] (the lease ran out before the start). A lease too short for the timeout is
 * stretched first, for that ticket alone.
 */
export async function startPayments(
  deps: Pick<Deps, "redis" | "keys">,
  timeoutMs: number,
  starts: PaymentStart[],
): Promise<string[][]> {
  const start = (batch: PaymentStart[], until: (p: PaymentStart) => number, shortfall: number) => {
    const [first] = batch;
    if (!first) return Promise.resolve([] as string[][]);
    const args: (string | number)[] = [timeoutMs, WORKER_ID, first.k.events, LEASE_GRACE_MS, shortfall];
    for (const p of batch) args.push(p.holder, p.k.seq, until(p));
    return deps.redis.run(
      "startPayment",
      batch.map((p) => p.k.ticket),
      args,
    ) as Promise<string[][]>;
  };
  // Fresh from acquire-slots, a lease already covers the payment: one round trip, not two.
  const fresh = starts.filter((p) => p.leaseUntil > 0);
  const firsts = await start(fresh, (p) => p.leaseUntil, SHORTFALL_MS);
  const byHolder = new Map(fresh.map((p, i) => [p.holder, firsts[i] ?? ["missing"]]));
  return Promise.all(
    starts.map(async (p) => {
      const first = byHolder.get(p.holder) ?? ["extend"];
      if (first[0] !== "extend") return first;
      const lease = (await deps.redis.run(
        "extendLease",
        [deps.keys.slots],
        [timeoutMs, p.holder, LEASE_GRACE_MS],
      )) as string[];
      if (lease[0] !== "leased") return lease;
      // Just stretched: whatever the round trip took comes off this payment's time, never off the lease.
      const [again] = await start([p], () => Number(lease[1]) + LEASE_GRACE_MS, Number.MAX_SAFE_INTEGER);
      return again ?? ["missing"];
    }),
  );
}

export async function startPayment(
  deps: Deps,
  k: TicketKeys,
  timeoutMs: number,
  holder: string,
  leaseUntil = 0,
): Promise<string[]> {
  const [out] = await startPayments(deps, timeoutMs, [{ k, holder, leaseUntil }]);
  return out ?? ["missing"];
}

/** Records a successful payment (see markPaidMany); the slot is freed in the same round trip. */
export async function markPaid(deps: Deps, k: TicketKeys, holder: string): Promise<string[]> {
  // Sent together, one round trip: on one Redis they run in this order. In a cluster
  // they may cross, which is harmless: the payment has ended (the simulator counted
  // it out), and no attempt ever pays a ticket twice.
  const [out] = await Promise.all([
    markPaidMany(deps, [{ k, holder }]),
    deps.redis.zrem(deps.keys.slots, holder),
  ]);
  return out[0] ?? ["late", "missing"];
}

/**
 * Records successful payments of one sale as they answer, one call: ['paid'], or
 * ['late', why] when the ticket's deadline passed or another attempt pays it (the
 * payment must not become a purchase), or ['error', why] for a ticket whose hash could
 * not be read (that ticket alone).
 */
export async function markPaidMany(
  deps: Pick<Deps, "redis">,
  paid: { k: TicketKeys; holder: string }[],
): Promise<string[][]> {
  if (paid.length === 0) return [];
  return (await deps.redis.run(
    "markPaid",
    paid.map((p) => p.k.ticket),
    paid.map((p) => p.holder),
  )) as string[][];
}

/**
 * Ends a ticket that holds a unit without a purchase. 'fail': the payment did not
 * go through; 'refuse': PostgreSQL refused this buyer; 'expire': a two_step hold was
 * not confirmed in time. Each time the unit goes to the earliest waiting ticket
 * (returned) or back to stock. 'void': PostgreSQL says the unit does not exist, so
 * it leaves the stock. A 'payment_timeout' before the payment's deadline by Redis's
 * clock does nothing and answers ['noop', 'early', deadline]: the caller asks again
 * later, and the attempt keeps its slot until then.
 */
export async function release(
  deps: Deps,
  k: TicketKeys,
  reason: string,
  holder: string,
  mode: "fail" | "refuse" | "void" | "expire" = "fail",
  // False when the caller freed the attempt's slot already (as the payment ended).
  freeSlot = true,
): Promise<string[]> {
  const out = (await deps.redis.run(
    "release",
    [k.sale, k.item, k.held, k.pending, k.ticket, k.waitlist, k.line, k.mode],
    [reason, k.ticketPrefix, holder, FINAL_TTL_S, mode, k.events, k.seq, newCodeSecret()],
  )) as string[];
  // An expired hold never took a slot; a payment refused as early is still paying.
  if (holder && freeSlot && !(out[0] === "noop" && out[1] === "early")) {
    await deps.redis.zrem(deps.keys.slots, holder);
  }
  return out;
}

export interface Finalized {
  /** 'purchased', or 'noop' when the ticket was no longer paying (finalized before). */
  done: string;
  /** When it sold the item's last unit, the seqs of the waiters it rejected. */
  rejected: string[];
  /** done 'error': why this ticket could not be finalized (its settlement is retried). */
  why?: string;
}

/** Mirrors a committed purchase in Redis. */
export async function finalize(deps: Deps, k: TicketKeys, purchaseId: string): Promise<Finalized> {
  const [out] = await finalizeMany(deps, [{ k, purchaseId }]);
  return out ?? { done: "noop", rejected: [] };
}

/** Mirrors committed purchases of one sale in Redis, in one call. */
export async function finalizeMany(
  deps: Pick<Deps, "redis">,
  done: { k: TicketKeys; purchaseId: string }[],
): Promise<Finalized[]> {
  const first = done[0]?.k;
  if (!first) return [];
  const keys = [first.sale, first.pending];
  const args: (string | number)[] = [first.ticketPrefix, FINAL_TTL_S, first.events];
  for (const { k, purchaseId } of done) {
    keys.push(k.item, k.ticket, k.waitlist, k.line);
    args.push(purchaseId, k.seq);
  }
  const out = (await deps.redis.run("finalize", keys, args)) as [
    string,
    number,
    string[] | undefined,
    string?,
  ][];
  return out.map(([state, , rejected, why]) => ({
    done: state,
    rejected: rejected ?? [],
    ...(why ? { why } : {}),
  }));
}
