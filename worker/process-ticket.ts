import { randomBytes } from "node:crypto";
import { DelayedError, type Job, type Queue, UnrecoverableError } from "bullmq";
import type { Deps } from "../shared/deps.js";
import { refOf } from "../shared/keys.js";
import type { CounterSink } from "../shared/metrics/counters.js";
import type { PaymentDesk, Started } from "../shared/payment/desk.js";
import { paymentAnswer } from "../shared/payment/simulator.js";
import type { SlotPool } from "../shared/payment/slots.js";
import type { TicketJob } from "../shared/queues.js";
import { ticketJobSchema } from "../shared/queues.js";
import type { Settler } from "../shared/settlement/settle.js";
import { wakeTickets } from "../shared/ticket/enqueue.js";
import { release } from "../shared/ticket/release.js";
import { reserve } from "../shared/ticket/reserve.js";
import { type TicketKeys, ticketKeys } from "../shared/ticket/ticket-keys.js";
import { sleep } from "../shared/time.js";

export interface WorkerCtx {
  deps: Deps;
  slots: SlotPool;
  desk: PaymentDesk;
  settler: Settler;
  queue: Queue;
  counters: CounterSink;
}

/**
 * One ticket, from the queue to its end. Each step is driven by the ticket's
 * state in Redis, so a retried or duplicated job resumes where the last attempt
 * stopped and never settles twice.
 */
export async function processTicket(ctx: WorkerCtx, job: Job, token?: string): Promise<void> {
  const parsed = ticketJobSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`bad checkout job: ${parsed.error.message}`);
  const data = parsed.data;
  const k = ticketKeys(ctx.deps, data);
  const { state, reason, error, hold: held } = await reserve(ctx.deps, k);
  if (state === "error") throw new Error(`could not reserve for ${refOf(data.ticketId)}: ${error}`);
  if (state === "reserved") return payOrResume(ctx, job, token, data, k);
  if (state === "held" && held) return hold(ctx, job, token, data, k, held.expiresAt, held.confirmed);
  // Counted where it was rejected: here only when this reserve did it (a reason comes back);
  // a job woken for a ticket finalize.lua already rejected just ends.
  if (state === "rejected" && reason) ctx.counters.inc("tickets_total", { status: "rejected", reason });
  if (state === "waiting") return waitForUnit(ctx, job, token, k);
  if (state === "paying") return resumePaying(ctx, job, token, data, k);
  // Final already (a duplicate job), or expired: nothing left to do.
}

/** No free unit, but payments in flight may release one: sleep until handed a unit. */
async function waitForUnit(ctx: WorkerCtx, job: Job, token: string | undefined, k: TicketKeys) {
  const handed = async () => (await ctx.deps.redis.hget(k.ticket, "st")) !== "queued";
  return sleepUntil(job, token, Date.now() + ctx.deps.cfg.WAIT_RECHECK_MS, handed);
}

/**
 * Puts the job to sleep until `at`; whoever changes the ticket meanwhile wakes it
 * (wakeTickets). A change between the last look and the move could not wake it, so
 * `changed` looks once more after the move.
 */
async function sleepUntil(job: Job, token: string | undefined, at: number, changed: () => Promise<boolean>) {
  await job.moveToDelayed(at, token);
  if (await changed()) await job.promote().catch(() => {});
  throw new DelayedError();
}

// A hold's job wakes this long after its expiry, so the expiry has surely passed in Redis too.
const EXPIRY_GRACE_MS = 10;

/**
 * A two_step sale's unit held behind a checkout code: pay once POST /purchase confirmed
 * it, sleep until the hold expires (the purchase wakes the job sooner), or end it at
 * its expiry and hand the unit to the earliest waiting ticket.
 */
async function hold(
  ctx: WorkerCtx,
  job: Job,
  token: string | undefined,
  data: TicketJob,
  k: TicketKeys,
  expiresAt: number,
  confirmed: boolean,
) {
  if (confirmed) return payOrResume(ctx, job, token, data, k);
  const purchased = async () => (await ctx.deps.redis.hget(k.ticket, "cf")) === "1";
  if (expiresAt > Date.now()) return sleepUntil(job, token, expiresAt + EXPIRY_GRACE_MS, purchased);
  const { outcome, why, until, waiter } = await release(ctx.deps, k, "hold_expired", "", "expire");
  // The purchase won the race with the expiry.
  if (outcome === "noop" && why === "confirmed") return payOrResume(ctx, job, token, data, k);
  // This process's clock is ahead of Redis's.
  if (outcome === "noop" && why === "early")
    return sleepUntil(job, token, Number(until) + EXPIRY_GRACE_MS, purchased);
  if (outcome !== "noop") ctx.counters.inc("tickets_total", { status: "failed", reason: "hold_expired" });
  if (outcome === "handed" && waiter) await wakeTickets(ctx.queue, data.saleId, [waiter]);
}

/**
 * Takes a payment slot, pays, and settles or fails the ticket. 'resume' when another
 * attempt at this ticket is paying it (its job lost its lock), or when Redis's clock
 * still has not reached the deadline of a payment this process timed out: the caller
 * looks again after that payment's deadline.
 */
export async function pay(ctx: WorkerCtx, data: TicketJob, k: TicketKeys): Promise<"done" | "resume"> {
  // Unique per attempt: a second attempt at the same ticket never frees the first one's slot by mistake.
  const holder = `${refOf(data.ticketId)}:${randomBytes(4).toString("hex")}`;
  let started: Started;
  for (;;) {
    const leaseUntil = await ctx.slots.acquire(holder);
    try {
      started = await ctx.desk.start({ k, holder, leaseUntil });
    } catch (err) {
      // Not started (or not known to be): the slot goes back now rather than at its lease's end.
      await ctx.slots.release(holder).catch(() => {});
      throw err;
    }
    // The lease ran out while this process was busy: ask again.
    if (started.status !== "noslot") break;
  }
  if (started.status === "error") {
    await ctx.slots.release(holder).catch(() => {});
    throw new Error(`could not start the payment of ${refOf(data.ticketId)}`);
  }
  if (started.status !== "paying") {
    await ctx.slots.release(holder);
    // Another attempt at this ticket is paying: let it, and check back after its deadline.
    return started.status === "busy" ? "resume" : "done";
  }
  const begun = performance.now();
  const answer = await paymentAnswer(started.settings);
  // Not in flight any more, and the slot free for the next payment, in the same round trip
  // as the approval's record. Should Redis not answer, both run out by themselves (the
  // count at the deadline, the lease just after), and the ticket still ends.
  const ended = ctx.desk.end(holder).catch((err: unknown) => {
    ctx.deps.log.warn({ ticket: refOf(data.ticketId), err: String(err) }, "could not free a payment slot");
  });
  const approved = answer === "approved" ? await ctx.desk.approve(k, holder) : undefined;
  await ended;
  ctx.counters.inc("payments_total", { outcome: answer });
  ctx.counters.observe("payment_duration_seconds", (performance.now() - begun) / 1000);
  if (approved?.outcome === "error")
    throw new Error(`could not record the payment of ${refOf(data.ticketId)}: ${approved.why}`);
  if (approved?.outcome === "paid") await settle(ctx, data, k);
  // A decline fails at once. A timeout (this process's timer, or an approval past the
  // deadline, which must never become a purchase) fails only once Redis's clock has
  // reached the deadline: a little after it by this process's clock, a few times, then
  // the ticket's own job looks again after the deadline (resumePaying).
  else if (answer === "declined") await fail(ctx, data, k, "payment_declined", holder);
  else
    for (let tries = 1; ; tries++) {
      const early = await fail(ctx, data, k, "payment_timeout", holder);
      if (early === undefined) break;
      if (tries >= EARLY_TRIES) return "resume";
      await sleep(Math.min(Math.max(early - Date.now(), 0), EARLY_WAIT_MAX_MS) + DEADLINE_GRACE_MS);
    }
  return "done";
}

// A payment timed out by this process's timer but not yet by Redis's clock (ms rounding,
// or clocks apart): waits this much past the deadline before asking Redis again...
const DEADLINE_GRACE_MS = 10;
// ...at most this long a time, so a clock far behind Redis's cannot hold the job...
const EARLY_WAIT_MAX_MS = 500;
// ...and this many times before the ticket's own job takes over, asleep in the queue.
const EARLY_TRIES = 3;
// A job woken before Redis's deadline (this clock ahead of Redis's) sleeps at least this long again.
const EARLY_RETRY_MIN_MS = 50;

async function payOrResume(
  ctx: WorkerCtx,
  job: Job,
  token: string | undefined,
  data: TicketJob,
  k: TicketKeys,
) {
  if ((await pay(ctx, data, k)) === "resume") return resumePaying(ctx, job, token, data, k);
}

/**
 * An earlier attempt died or stalled mid-payment, or another attempt is paying: settle
 * what was paid, fail what was not once Redis's clock has passed its deadline. Redis
 * decides (release.lua answers 'early' before the deadline); this process's clock only
 * says when to ask again.
 */
async function resumePaying(
  ctx: WorkerCtx,
  job: Job,
  token: string | undefined,
  data: TicketJob,
  k: TicketKeys,
) {
  const [paid, holder] = await ctx.deps.redis.hmget(k.ticket, "paid", "sh");
  if (paid === "1") return settle(ctx, data, k);
  const early = await fail(ctx, data, k, "payment_timeout", holder ?? "");
  if (early === undefined) return;
  // The payment may still answer in time; come back when it no longer can (never at once,
  // should this clock run ahead of Redis's).
  await job.moveToDelayed(Math.max(early + DEADLINE_GRACE_MS, Date.now() + EARLY_RETRY_MIN_MS), token);
  throw new DelayedError();
}

/**
 * Fails the payment: the ticket ends and its unit goes on. Returns the deadline (ms,
 * Redis's clock) when Redis refused a 'payment_timeout' as early, and did nothing.
 */
async function fail(
  ctx: WorkerCtx,
  data: TicketJob,
  k: TicketKeys,
  reason: string,
  holder: string,
): Promise<number | undefined> {
  // The slot was freed as the payment ended (or by the attempt that paid).
  const { outcome, why, until, waiter } = await release(ctx.deps, k, reason, holder, "fail", false);
  if (outcome === "noop" && why === "early") return Number(until);
  if (outcome !== "noop") ctx.counters.inc("tickets_total", { status: "failed", reason });
  if (outcome === "handed" && waiter) await wakeTickets(ctx.queue, data.saleId, [waiter]);
  // Another attempt got the payment through meanwhile: this one finishes its settlement.
  if (outcome === "noop" && why === "paid") await settle(ctx, data, k);
  return undefined;
}

/** Settles a paid ticket in PostgreSQL and mirrors it in Redis (both batched with other tickets by the settler). */
async function settle(ctx: WorkerCtx, data: TicketJob, k: TicketKeys): Promise<void> {
  const result = await ctx.settler.settle({
    ticketId: data.ticketId,
    saleId: data.saleId,
    itemId: data.itemId,
    userId: data.userId,
    finalize: true,
  });
  if ("purchaseId" in result) {
    const { done, rejected } = result.finalized ?? { done: "noop", rejected: [] };
    if (done === "purchased") {
      ctx.counters.inc("tickets_total", { status: "purchased", reason: "" });
      // Tickets still waiting when the last unit sold were rejected by the same script;
      // their jobs end now rather than sleep until their re-check, so the queue shows only live work.
      if (rejected.length > 0) {
        ctx.counters.inc("tickets_total", { status: "rejected", reason: "sold_out" }, rejected.length);
        await wakeTickets(ctx.queue, data.saleId, rejected);
      }
    }
    return;
  }
  // PostgreSQL, the second guard, refused: Redis was wrong about this unit (it
  // does not exist: void it) or about this buyer (over the limit: the unit is
  // real and goes to the next in line).
  ctx.deps.log.error(
    { ticket: refOf(data.ticketId), reason: result.refused },
    "settlement refused by PostgreSQL",
  );
  const mode = result.refused === "sold_out" ? "void" : "refuse";
  const { outcome, waiter } = await release(ctx.deps, k, result.refused, "", mode, false);
  if (outcome !== "noop") ctx.counters.inc("tickets_total", { status: "rejected", reason: result.refused });
  if (outcome === "handed" && waiter) await wakeTickets(ctx.queue, data.saleId, [waiter]);
}
