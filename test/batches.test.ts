import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Admission, admit } from "../shared/checkout/admit.js";
import { refOf } from "../shared/keys.js";
import type { TicketJob } from "../shared/queues.js";
import { CHECKOUT_QUEUE, type CheckoutQueue, checkoutQueueOptions } from "../shared/queues.js";
import { createSaleDirectory } from "../shared/sale/directory.js";
import { batchJobs } from "../shared/ticket/enqueue.js";
import { sweep } from "../shared/ticket/sweep.js";
import { sleep } from "../shared/time.js";
import { createProcessEnv, createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { checkInvariants, slotsAtRest, waitForRest } from "../tools/harness/invariants.js";
import { startWorker } from "../worker/start.js";
import { untilFinal, untilStatus } from "./helpers/shopper.js";

// Tickets admitted together travel as one batch job (shared/ticket/enqueue.ts,
// worker/process-batch.ts). These suites build the batches themselves: tickets are
// admitted without the API's enqueue, then queued as batch jobs in a known shape.

type Env = Pick<TestEnv, "deps">;

async function admitted(env: Env, saleId: string, shoppers: [user: string, item: string][]) {
  const directory = createSaleDirectory(env.deps);
  const out: (Admission & TicketJob)[] = [];
  // One after the other: their ticket order is the order listed.
  for (const [userId, itemId] of shoppers) {
    const a = await admit(env.deps, directory, { userId, itemId });
    out.push({ ...a, ticketId: a.ticketId, saleId, itemId, userId });
  }
  return out;
}

function queueOf(env: Env): CheckoutQueue {
  return new Queue(CHECKOUT_QUEUE, { connection: env.deps.redis, ...checkoutQueueOptions(env.deps.keys) });
}

describe("batch jobs in one worker process", () => {
  let env: TestEnv;
  let queue: CheckoutQueue;
  beforeAll(async () => {
    env = await createTestEnv({ workers: 0, env: { LOG_LEVEL: "fatal", RATE_USER_PER_S: "0" } });
    queue = queueOf(env);
  });
  afterAll(async () => {
    await queue?.close();
    await env?.close();
  });

  it("serves tickets in queue order across batches and in ticket order within one (FIFO)", async () => {
    await env.setPayments({ latency_ms: { min: 0, max: 0 }, failure_rate: 0, hang_rate: 0, slots: 50 });
    const saleId = await env.createSale({ items: [{ item_id: "fifo", stock: 7 }], user_limit: 10 });
    const tickets = await admitted(
      env,
      saleId,
      Array.from({ length: 20 }, (_, i): [string, string] => [`u${i}`, "fifo"]),
    );
    // Four jobs of five, in ticket order.
    await queue.addBulk(batchJobs(tickets, 5) as Parameters<CheckoutQueue["addBulk"]>[0]);
    expect(await queue.getJobCounts("wait")).toMatchObject({ wait: 4 });
    const worker = await startWorker(env.deps);
    try {
      const final = await Promise.all(tickets.map((t) => untilFinal(env, t.ticketId)));
      // Exactly the seven earliest tickets bought; every later one was told sold out.
      expect(final.map((t) => t.status)).toEqual([
        ...Array(7).fill("purchased"),
        ...Array(13).fill("rejected"),
      ]);
      expect(new Set(final.slice(7).map((t) => t.reason))).toEqual(new Set(["sold_out"]));
      await waitForRest(env.deps, saleId);
      expect((await checkInvariants(env.deps, saleId)).violations).toEqual([]);
    } finally {
      await worker.close();
    }
  });

  it("the sweeper leaves a batch's tickets to their batch, and revives them once it is gone", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "swept", stock: 5 }] });
    const tickets = await admitted(
      env,
      saleId,
      Array.from({ length: 5 }, (_, i): [string, string] => [`s${i}`, "swept"]),
    );
    await queue.addBulk(batchJobs(tickets, 50) as Parameters<CheckoutQueue["addBulk"]>[0]);
    // Old enough to be called orphaned, but held by their batch job.
    expect(await sweep(env.deps, queue, Date.now() + 60_000)).toEqual([]);
    expect(await queue.getJobCounts("wait")).toMatchObject({ wait: 1 });
    // The batch lost (say, removed by hand): each ticket gets a job of its own.
    await queue.remove(`b-${refOf(tickets[0]?.ticketId ?? "")}`);
    const revived = await sweep(env.deps, queue, Date.now() + 60_000);
    expect(revived.sort()).toEqual(tickets.map((t) => t.ticketId).sort());
    const worker = await startWorker(env.deps);
    try {
      for (const t of tickets)
        expect(await untilFinal(env, t.ticketId)).toMatchObject({ status: "purchased" });
    } finally {
      await worker.close();
    }
  });

  it("a ticket that must wait leaves its batch as a job of its own; its batch-mates go on", async () => {
    await env.setPayments({ latency_ms: { min: 400, max: 400 }, failure_rate: 0, hang_rate: 0, slots: 50 });
    const saleId = await env.createSale({
      items: [
        { item_id: "one", stock: 1 },
        { item_id: "many", stock: 5 },
      ],
    });
    const [first, second, third, fourth] = await admitted(env, saleId, [
      ["a", "one"],
      ["b", "one"],
      ["c", "many"],
      ["d", "many"],
    ]);
    if (!first || !second || !third || !fourth) throw new Error("not admitted");
    await queue.addBulk(
      batchJobs([first, second, third, fourth], 50) as Parameters<CheckoutQueue["addBulk"]>[0],
    );
    const worker = await startWorker(env.deps);
    try {
      // The second waits for the unit the first is paying for, in a job of its own (woken by its ticket id).
      await untilStatus(env, first.ticketId, "paying");
      for (let i = 0; !(await queue.getJob(refOf(second.ticketId))) && i < 200; i++) await sleep(10);
      expect(await queue.getJob(refOf(second.ticketId))).toBeDefined();
      expect((await env.json(`/tickets/${second.ticketId}`)).body).toMatchObject({ status: "queued" });
      // The others paid meanwhile, each on its own.
      expect(await untilFinal(env, third.ticketId)).toMatchObject({ status: "purchased" });
      expect(await untilFinal(env, fourth.ticketId)).toMatchObject({ status: "purchased" });
      expect(await untilFinal(env, first.ticketId)).toMatchObject({ status: "purchased" });
      // The last unit sold: the waiter is told at once, and its job ends.
      expect(await untilFinal(env, second.ticketId)).toMatchObject({
        status: "rejected",
        reason: "sold_out",
      });
      await waitForRest(env.deps, saleId);
      expect((await checkInvariants(env.deps, saleId)).violations).toEqual([]);
    } finally {
      await worker.close();
    }
  });

  it("a ticket that meets an error is retried alone; its batch-mates end without it", async () => {
    await env.setPayments({
      latency_ms: { min: 500, max: 500 },
      failure_rate: 1,
      hang_rate: 0,
      timeout_ms: 1000,
    });
    const saleId = await env.createSale({ items: [{ item_id: "err", stock: 3 }] });
    const tickets = await admitted(env, saleId, [
      ["x", "err"],
      ["y", "err"],
      ["z", "err"],
    ]);
    const [, broken] = tickets;
    if (!broken) throw new Error("not admitted");
    await queue.addBulk(batchJobs(tickets, 50) as Parameters<CheckoutQueue["addBulk"]>[0]);
    const worker = await startWorker(env.deps);
    const key = env.deps.keys.ticket(saleId, broken.ticketId.split("-")[1] ?? "");
    try {
      await untilStatus(env, broken.ticketId, "paying");
      // Its declined payment can't be released while its hash is not a hash (release.lua fails
      // at its first read, before any write): a store error of this ticket alone.
      const saved = await env.deps.redis.dumpBuffer(key);
      await env.deps.redis.set(key, "not a hash");
      const [a, , c] = tickets;
      for (const t of [a, c]) {
        expect(await untilFinal(env, t?.ticketId ?? "")).toMatchObject({
          status: "failed",
          reason: "payment_declined",
        });
      }
      // The broken one is retried on its own, by its own job, until the store heals.
      for (let i = 0; !(await queue.getJob(refOf(broken.ticketId))) && i < 300; i++) await sleep(10);
      expect(await queue.getJob(refOf(broken.ticketId))).toBeDefined();
      await env.deps.redis.del(key);
      await env.deps.redis.restore(key, 0, saved);
      // Its approval never came, so it ends at its deadline, and its unit comes back.
      expect(await untilFinal(env, broken.ticketId)).toMatchObject({
        status: "failed",
        reason: "payment_timeout",
      });
      await waitForRest(env.deps, saleId);
      const report = await checkInvariants(env.deps, saleId);
      expect(report.violations).toEqual([]);
      expect(report.sold).toBe(0);
    } finally {
      await worker.close();
      await env.setPayments({ latency_ms: { min: 0, max: 2 }, failure_rate: 0, timeout_ms: 3000 });
    }
  });
});

describe("an approval", () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ env: { LOG_LEVEL: "fatal" } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it("is recorded as it answers, so a settlement held up past the payment's deadline still purchases", async () => {
    await env.setPayments({
      latency_ms: { min: 20, max: 20 },
      failure_rate: 0,
      hang_rate: 0,
      timeout_ms: 300,
    });
    const saleId = await env.createSale({ items: [{ item_id: "held-up", stock: 1 }] });
    // Another transaction holds the sale's settlement lock (as a long reload would) for
    // longer than the payment may take.
    let release: () => void = () => {};
    const holding = env.deps.db.client.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(7242002, ${Number(saleId)})`;
      await new Promise<void>((r) => {
        release = r;
      });
    });
    await sleep(50);
    const res = await env.json<{ ticket_id: string }>("/checkout?user_id=patient&id=held-up", {
      method: "POST",
    });
    await untilStatus(env, res.body.ticket_id, "paying").catch(() => {});
    await sleep(800);
    release();
    await holding;
    expect(await untilFinal(env, res.body.ticket_id)).toMatchObject({ status: "purchased" });
    await waitForRest(env.deps, saleId);
    expect((await checkInvariants(env.deps, saleId)).violations).toEqual([]);
  });
});

describe("a batch whose worker dies mid-payment", () => {
  let env: Awaited<ReturnType<typeof createProcessEnv>>;
  beforeAll(async () => {
    // Short locks, so the dead worker's batch is taken up again within seconds.
    env = await createProcessEnv({ workers: 0, env: { JOB_LOCK_MS: "1500", PAYMENT_TIMEOUT_MS: "1500" } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it("each of its tickets ends once, its units and slots come back, and nothing sells twice", async () => {
    const saleId = await env.createSale({
      items: ["p", "q", "r"].map((item_id) => ({ item_id, stock: 1 })),
    });
    await env.setPayments({ latency_ms: { min: 1200, max: 1200 }, failure_rate: 0, hang_rate: 0, slots: 10 });
    const tickets = await admitted(env, saleId, [
      ["m1", "p"],
      ["m2", "q"],
      ["m3", "r"],
    ]);
    const queue = queueOf(env);
    try {
      await queue.addBulk(batchJobs(tickets, 50) as Parameters<CheckoutQueue["addBulk"]>[0]);
      const doomed = await env.startWorker();
      // The middle ticket is paying (so are the others): the worker dies under them.
      await untilStatus(env, tickets[1]?.ticketId ?? "", "paying");
      expect(await doomed.kill("SIGKILL")).toBe("SIGKILL");
      await env.setPayments({ latency_ms: { min: 0, max: 0 } });
      await env.startWorker();
      // The batch is run again: what the dead worker left paying fails at its deadline.
      for (const t of tickets) {
        expect(await untilFinal(env, t.ticketId, 30_000)).toMatchObject({
          status: "failed",
          reason: "payment_timeout",
        });
      }
      // The units are back: a new shopper buys each.
      for (const item of ["p", "q", "r"]) {
        const res = await env.json<{ ticket_id: string }>(`/checkout?user_id=n${item}&id=${item}`, {
          method: "POST",
        });
        expect(await untilFinal(env, res.body.ticket_id)).toMatchObject({ status: "purchased" });
      }
      await waitForRest(env.deps, saleId);
      const report = await checkInvariants(env.deps, saleId);
      expect(report.violations).toEqual([]);
      expect(report).toMatchObject({ sold: 3, purchases: 3 });
      // The dead worker's slots come back when their leases run out (timeout + 1 s of grace).
      for (let i = 0; (await slotsAtRest(env.deps)).held > 0 && i < 100; i++) await sleep(100);
      expect(await slotsAtRest(env.deps)).toMatchObject({ held: 0, inFlight: 0 });
    } finally {
      await queue.close();
    }
  });
});
