import { randomBytes } from "node:crypto";
import { DelayedError, type Job, type Queue, UnrecoverableError } from "bullmq";
import { z } from "zod";
import { type TicketJob, wakeTickets } from "../shared/checkout/enqueue.js";
import type { Deps } from "../shared/deps.js";
import type { CounterSink } from "../shared/metrics/counters.js";
import { checkoutJobSchema } from "../shared/queues.js";
import { PaymentAborted, simulatePayment } from "./payment-simulator.js";
import type { SettingsWatcher } from "./settings-watcher.js";
import type { Settler } from "./settle.js";
import type { SlotPool } from "./slots.js";
import * as step from "./steps.js";

export interface WorkerCtx {
  deps: Deps;
  settings: SettingsWatcher;
  slots: SlotPool;
  settler: Settler;
  queue: Queue;
  counters: CounterSink;
}

const jobSchema = checkoutJobSchema.extend({
  saleId: z.string().regex(/^[0-9]{1,18}$/),
  itemId: z.string().min(1).max(64),
  userId: z.string().min(1).max(64),
});

/**
 * One ticket, from the queue to its end. Each step is driven by the ticket's
 * state in Redis, so a retried or duplicated job resumes where the last attempt
 * stopped and never settles twice.
 */
export async function processTicket(ctx: WorkerCtx, job: Job, token?: string): Promise<void> {
  const parsed = jobSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`bad checkout job: ${parsed.error.message}`);
  const data = parsed.data;
  const k = step.ticketKeys(ctx.deps, data);
  const [state, reason, expiresAt, confirmed] = await step.reserve(ctx.deps, k);
  if (state === "reserved") return pay(ctx, job, token, data, k);
  if (state === "held") return hold(ctx, job, token, data, k, Number(expiresAt), confirmed === "1");
  // Counted where it was rejected: here only when this reserve did it (a reason comes back);
  // a job woken for a ticket finalize.lua already rejected just ends.
  if (state === "rejected" && reason) ctx.counters.inc("tickets_total", { status: "rejected", reason });
  if (state === "waiting") return waitForUnit(ctx, job, token, k);
  if (state === "paying") return resumePaying(ctx, job, token, data, k);
  // Final already (a duplicate job), or expired: nothing left to do.
}

/** No free unit, but payments in flight may release one: sleep until handed a unit. */
async function waitForUnit(ctx: WorkerCtx, job: Job, token: string | undefined, k: step.TicketKeys) {
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
  k: step.TicketKeys,
  expiresAt: number,
  confirmed: boolean,
) {
  if (confirmed) return pay(ctx, job, token, data, k);
  const purchased = async () => (await ctx.deps.redis.hget(k.ticket, "cf")) === "1";
  if (expiresAt > Date.now()) return sleepUntil(job, token, expiresAt + EXPIRY_GRACE_MS, purchased);
  const [outcome, detail, at] = await step.release(ctx.deps, k, "hold_expired", "", "expire");
  // The purchase won the race with the expiry.
  if (outcome === "noop" && detail === "confirmed") return pay(ctx, job, token, data, k);
  // This process's clock is ahead of Redis's.
  if (outcome === "noop" && detail === "early")
    return sleepUntil(job, token, Number(at) + EXPIRY_GRACE_MS, purchased);
  if (outcome !== "noop") ctx.counters.inc("tickets_total", { status: "failed", reason: "hold_expired" });
  if (outcome === "handed" && detail) await wakeTickets(ctx.queue, data.saleId, [detail]);
}

async function pay(ctx: WorkerCtx, job: Job, token: string | undefined, data: TicketJob, k: step.TicketKeys) {
  const { deps } = ctx;
  // Unique per attempt: a second attempt at the same ticket never frees the first one's slot by mistake.
  const holder = `${data.ticketId}:${randomBytes(4).toString("hex")}`;
  let s = ctx.settings.get();
  let st: string | undefined;
  for (;;) {
    const leaseUntil = await ctx.slots.acquire(holder);
    s = ctx.settings.get();
    [st] = await step.startPayment(deps, k, s.timeout_ms, holder, leaseUntil);
    // The lease ran out while this process was busy: ask again.
    if (st !== "noslot") break;
  }
  if (st === "busy") {
    // Another attempt at this ticket is paying (its job lost its lock): let it, and check back after its deadline.
    await ctx.slots.release(holder);
    return resumePaying(ctx, job, token, data, k);
  }
  if (st !== "paying") {
    await ctx.slots.release(holder);
    return;
  }
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), s.timeout_ms);
  let answer: "approved" | "declined" | "timeout";
  const started = performance.now();
  try {
    answer = await simulatePayment(deps, holder, s, abort.signal);
  } catch (err) {
    if (!(err instanceof PaymentAborted)) throw err;
    answer = "timeout";
  } finally {
    clearTimeout(timer);
  }
  ctx.counters.inc("payments_total", { outcome: answer });
  ctx.counters.observe("payment_duration_seconds", (performance.now() - started) / 1000);
  if (answer === "approved") {
    const [paid] = await step.markPaid(deps, k, holder);
    ctx.slots.freed();
    if (paid === "paid") return settle(ctx, data, k, holder);
  }
  return fail(ctx, data, k, answer === "declined" ? "payment_declined" : "payment_timeout", holder);
}

/** An earlier attempt died or stalled mid-payment: settle what was paid, fail what was not by its deadline. */
async function resumePaying(
  ctx: WorkerCtx,
  job: Job,
  token: string | undefined,
  data: TicketJob,
  k: step.TicketKeys,
) {
  const [deadline, paid, holder] = await ctx.deps.redis.hmget(k.ticket, "pd", "paid", "sh");
  if (paid === "1") return settle(ctx, data, k, holder ?? "");
  if (Number(deadline) > Date.now()) {
    // The payment may still answer in time; come back when it no longer can.
    await job.moveToDelayed(Number(deadline) + 10, token);
    throw new DelayedError();
  }
  return fail(ctx, data, k, "payment_timeout", holder ?? "");
}

async function fail(ctx: WorkerCtx, data: TicketJob, k: step.TicketKeys, reason: string, holder: string) {
  const [outcome, detail] = await step.release(ctx.deps, k, reason, holder);
  ctx.slots.freed();
  if (outcome !== "noop") ctx.counters.inc("tickets_total", { status: "failed", reason });
  if (outcome === "handed" && detail) await wakeTickets(ctx.queue, data.saleId, [detail]);
  // Another attempt got the payment through meanwhile: this one finishes its settlement.
  if (outcome === "noop" && detail === "paid") return settle(ctx, data, k, holder);
}

async function settle(ctx: WorkerCtx, data: TicketJob, k: step.TicketKeys, holder: string) {
  const result = await ctx.settler.settle(data);
  if ("purchaseId" in result) {
    const { done, rejected } = await step.finalize(ctx.deps, k, result.purchaseId);
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
  ctx.deps.log.error({ ticket: data.ticketId, reason: result.refused }, "settlement refused by PostgreSQL");
  const mode = result.refused === "sold_out" ? "void" : "refuse";
  const [outcome, detail] = await step.release(ctx.deps, k, result.refused, holder, mode);
  if (outcome !== "noop") ctx.counters.inc("tickets_total", { status: "rejected", reason: result.refused });
  if (outcome === "handed" && detail) await wakeTickets(ctx.queue, data.saleId, [detail]);
}
