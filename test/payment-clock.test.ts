import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admit } from "../shared/checkout/admit.js";
import type { Deps } from "../shared/deps.js";
import { markPaid } from "../shared/payment/mark-paid.js";
import { LEASE_GRACE_MS } from "../shared/payment/slots.js";
import { startPayment } from "../shared/payment/start-payment.js";
import type { TicketJob } from "../shared/queues.js";
import { CHECKOUT_QUEUE, type CheckoutQueue, checkoutQueueOptions } from "../shared/queues.js";
import { createSaleDirectory } from "../shared/sale/directory.js";
import { addTicketJobs } from "../shared/ticket/enqueue.js";
import { release } from "../shared/ticket/release.js";
import { reserve } from "../shared/ticket/reserve.js";
import { type TicketKeys, ticketKeys } from "../shared/ticket/ticket-keys.js";
import { sleep } from "../shared/time.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { checkInvariants, slotsAtRest, waitForRest } from "../tools/harness/invariants.js";
import { startWorker } from "../worker/start.js";
import { untilFinal } from "./helpers/shopper.js";

// A payment times out by Redis's clock alone (the deadline `pd` that start-payment.lua
// set from Redis TIME): release.lua refuses a 'payment_timeout' before it, and a worker
// whose own clock or timer runs ahead waits and asks again (worker/process-ticket.ts).

let env: TestEnv;
let queue: CheckoutQueue;
beforeAll(async () => {
  env = await createTestEnv({ workers: 0, env: { LOG_LEVEL: "fatal", RATE_USER_PER_S: "0" } });
  queue = new Queue(CHECKOUT_QUEUE, { connection: env.deps.redis, ...checkoutQueueOptions(env.deps.keys) });
});
afterAll(async () => {
  await queue?.close();
  await env?.close();
});

async function redisNow(deps: Deps): Promise<number> {
  const [s, us] = await deps.redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/** A sale of one unit; the first shopper holds it (reserved), the others wait in line for it. */
async function oneUnit(item: string, users: string[]) {
  const saleId = await env.createSale({ items: [{ item_id: item, stock: 1 }], user_limit: 10 });
  const directory = createSaleDirectory(env.deps);
  const out: { job: TicketJob; k: TicketKeys }[] = [];
  for (const userId of users) {
    const a = await admit(env.deps, directory, { userId, itemId: item });
    const job: TicketJob = { ticketId: a.ticketId, saleId, itemId: item, userId };
    out.push({ job, k: ticketKeys(env.deps, job) });
  }
  return { saleId, tickets: out };
}

/** Everything release.lua could write for a ticket of this item. */
async function snapshot(deps: Deps, k: TicketKeys) {
  const { redis } = deps;
  return {
    ticket: await redis.hgetall(k.ticket),
    item: await redis.hgetall(k.item),
    sale: await redis.hgetall(k.sale),
    held: await redis.hgetall(k.held),
    pending: await redis.hgetall(k.pending),
    waitlist: await redis.zrange(k.waitlist, 0, -1, "WITHSCORES"),
    line: await redis.zrange(k.line, 0, -1, "WITHSCORES"),
  };
}

/** Starts paying a reserved ticket as a worker would, with a slot of its own. */
async function startPaying(k: TicketKeys, holder: string, timeoutMs: number) {
  const lease = (await redisNow(env.deps)) + timeoutMs + LEASE_GRACE_MS + 5000;
  await env.deps.redis.zadd(env.deps.keys.slots, lease, holder);
  const { status, deadline } = await startPayment(env.deps, k, timeoutMs, holder, lease);
  expect(status).toBe("paying");
  return Number(deadline);
}

async function untilRedisPasses(deadline: number) {
  while ((await redisNow(env.deps)) < deadline) await sleep(5);
}

describe("release.lua: a payment times out only by Redis's clock", () => {
  it("refuses 'payment_timeout' before the deadline, writing nothing; after it, fails the ticket and hands the unit on", async () => {
    const { saleId, tickets } = await oneUnit("early", ["payer", "next"]);
    const [payer, next] = tickets;
    if (!payer || !next) throw new Error("two tickets");
    expect((await reserve(env.deps, payer.k)).state).toBe("reserved");
    expect((await reserve(env.deps, next.k)).state).toBe("waiting");
    const pd = await startPaying(payer.k, "early-slot", 800);

    const before = await snapshot(env.deps, payer.k);
    expect(await release(env.deps, payer.k, "payment_timeout", "early-slot")).toEqual({
      outcome: "noop",
      why: "early",
      until: pd,
    });
    // Nothing written: still paying, the unit still reserved for it, the next still in line...
    expect(await snapshot(env.deps, payer.k)).toEqual(before);
    expect(before.ticket.st).toBe("paying");
    expect(before.item).toMatchObject({ rs: "1", av: "0" });
    expect(await env.deps.redis.hget(next.k.ticket, "st")).toBe("queued");
    // ...and the attempt keeps its slot until it may really fail.
    expect(await env.deps.redis.zscore(env.deps.keys.slots, "early-slot")).not.toBeNull();
    // Without a holder (a caller that lost it) the deadline holds just the same.
    expect(await release(env.deps, payer.k, "payment_timeout", "", "fail", false)).toMatchObject({
      outcome: "noop",
      why: "early",
    });

    await untilRedisPasses(pd);
    expect(await release(env.deps, payer.k, "payment_timeout", "early-slot")).toEqual({
      outcome: "handed",
      waiter: next.k.seq,
    });
    const failed = await env.deps.redis.hgetall(payer.k.ticket);
    expect(failed).toMatchObject({ st: "failed", why: "payment_timeout" });
    expect(Number(failed.ua)).toBeGreaterThanOrEqual(pd);
    expect(await env.deps.redis.hget(next.k.ticket, "st")).toBe("reserved");
    expect(await env.deps.redis.zscore(env.deps.keys.slots, "early-slot")).toBeNull();
    // Once failed, a late call is a no-op as before.
    expect(await release(env.deps, payer.k, "payment_timeout", "early-slot")).toEqual({
      outcome: "noop",
      why: "failed",
    });

    // The ticket handed the unit buys it.
    await env.setPayments({ latency_ms: { min: 0, max: 2 }, failure_rate: 0, hang_rate: 0, slots: 5 });
    const worker = await startWorker(env.deps);
    try {
      await addTicketJobs(queue, [next.job]);
      expect(await untilFinal(env, next.job.ticketId)).toMatchObject({ status: "purchased" });
      await waitForRest(env.deps, saleId);
      const report = await checkInvariants(env.deps, saleId);
      expect(report.violations).toEqual([]);
      expect(report.sold).toBe(1);
    } finally {
      await worker.close();
    }
  });

  it("a declined payment fails at once, deadline or not", async () => {
    const { saleId, tickets } = await oneUnit("declined", ["decliner"]);
    const [payer] = tickets;
    if (!payer) throw new Error("one ticket");
    expect((await reserve(env.deps, payer.k)).state).toBe("reserved");
    const pd = await startPaying(payer.k, "declined-slot", 5000);
    expect(await release(env.deps, payer.k, "payment_declined", "declined-slot")).toEqual({
      outcome: "restocked",
    });
    const failed = await env.deps.redis.hgetall(payer.k.ticket);
    expect(failed).toMatchObject({ st: "failed", why: "payment_declined" });
    expect(Number(failed.ua)).toBeLessThan(pd);
    expect(await env.deps.redis.zscore(env.deps.keys.slots, "declined-slot")).toBeNull();
    await waitForRest(env.deps, saleId);
    const report = await checkInvariants(env.deps, saleId);
    expect(report.violations).toEqual([]);
    expect(report.sold).toBe(0);
  });

  it("a paid ticket is still settled, never refused as early", async () => {
    const { tickets } = await oneUnit("paid", ["payer"]);
    const [payer] = tickets;
    if (!payer) throw new Error("one ticket");
    expect((await reserve(env.deps, payer.k)).state).toBe("reserved");
    await startPaying(payer.k, "paid-slot", 5000);
    expect(await markPaid(env.deps, payer.k, "paid-slot")).toEqual({ outcome: "paid" });
    expect(await release(env.deps, payer.k, "payment_timeout", "paid-slot")).toEqual({
      outcome: "noop",
      why: "paid",
    });
    // Settled by its job, as any paid ticket.
    const worker = await startWorker(env.deps);
    try {
      await addTicketJobs(queue, [payer.job]);
      expect(await untilFinal(env, payer.job.ticketId)).toMatchObject({ status: "purchased" });
    } finally {
      await worker.close();
    }
  });
});

describe("a worker whose clock runs ahead of Redis's", () => {
  it("whose payment timer fires early does not fail the payment before Redis's deadline", async () => {
    // The worker's timer for timeout_ms fires after a tenth of it: it believes the
    // payment timed out long before Redis's clock says so.
    const TIMEOUT_MS = 1234;
    const realSetTimeout = globalThis.setTimeout;
    const fast = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) =>
      realSetTimeout(fn, ms === TIMEOUT_MS ? 120 : ms, ...args)) as typeof setTimeout;
    await env.setPayments({
      latency_ms: { min: 0, max: 2 },
      failure_rate: 0,
      hang_rate: 1,
      timeout_ms: TIMEOUT_MS,
      slots: 5,
    });
    const { saleId, tickets } = await oneUnit("timer", ["hangs", "next"]);
    const [payer, next] = tickets;
    if (!payer || !next) throw new Error("two tickets");
    const worker = await startWorker(env.deps);
    globalThis.setTimeout = fast;
    try {
      await addTicketJobs(queue, [payer.job]);
      while ((await env.deps.redis.hget(payer.k.ticket, "st")) !== "paying") await sleep(5);
      // The next payment goes through.
      await env.setPayments({ hang_rate: 0 });
      while (worker.settings.get().hang_rate !== 0) await sleep(10);
      await addTicketJobs(queue, [next.job]);

      expect(await untilFinal(env, payer.job.ticketId)).toMatchObject({
        status: "failed",
        reason: "payment_timeout",
      });
      const [pd, ua] = await env.deps.redis.hmget(payer.k.ticket, "pd", "ua");
      // Failed by Redis's clock, at its deadline, not at the worker's early timer.
      expect(Number(ua)).toBeGreaterThanOrEqual(Number(pd));
      expect(Number(ua)).toBeLessThan(Number(pd) + 1500);
      expect(await untilFinal(env, next.job.ticketId)).toMatchObject({ status: "purchased" });
      await waitForRest(env.deps, saleId);
      const report = await checkInvariants(env.deps, saleId);
      expect(report.violations).toEqual([]);
      expect(report.sold).toBe(1);
      expect(await slotsAtRest(env.deps)).toMatchObject({ held: 0, inFlight: 0 });
    } finally {
      globalThis.setTimeout = realSetTimeout;
      await worker.close();
    }
  });

  it("resuming a payment whose worker died does not fail it before Redis's deadline", async () => {
    const SKEW_MS = 5000;
    await env.setPayments({ latency_ms: { min: 0, max: 2 }, failure_rate: 0, hang_rate: 0, slots: 5 });
    const { saleId, tickets } = await oneUnit("resume", ["orphaned", "next"]);
    const [payer, next] = tickets;
    if (!payer || !next) throw new Error("two tickets");
    expect((await reserve(env.deps, payer.k)).state).toBe("reserved");
    // An attempt that started paying and died: its ticket stays paying until the deadline.
    const pd = await startPaying(payer.k, "dead-slot", 1500);
    const worker = await startWorker(env.deps);
    const realNow = Date.now;
    Date.now = () => realNow() + SKEW_MS;
    try {
      // By this process's clock the deadline passed long ago; by Redis's it has not.
      expect(Date.now()).toBeGreaterThan(pd);
      await addTicketJobs(queue, [payer.job, next.job]);
      expect(await untilFinal(env, payer.job.ticketId)).toMatchObject({
        status: "failed",
        reason: "payment_timeout",
      });
      const ua = Number(await env.deps.redis.hget(payer.k.ticket, "ua"));
      expect(ua).toBeGreaterThanOrEqual(pd);
      expect(ua).toBeLessThan(pd + 1500);
      expect(await untilFinal(env, next.job.ticketId)).toMatchObject({ status: "purchased" });
      await waitForRest(env.deps, saleId);
      const report = await checkInvariants(env.deps, saleId);
      expect(report.violations).toEqual([]);
      expect(report.sold).toBe(1);
    } finally {
      Date.now = realNow;
      await worker.close();
      await env.deps.redis.zrem(env.deps.keys.slots, "dead-slot");
    }
  });
});
