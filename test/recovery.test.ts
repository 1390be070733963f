import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admit } from "../shared/checkout/admit.js";
import { refOf } from "../shared/keys.js";
import { markPaid } from "../shared/payment/mark-paid.js";
import { LEASE_GRACE_MS } from "../shared/payment/slots.js";
import { startPayment } from "../shared/payment/start-payment.js";
import { CHECKOUT_QUEUE, checkoutQueueOptions, TICKET_JOB } from "../shared/queues.js";
import { createSaleDirectory } from "../shared/sale/directory.js";
import { loadSale } from "../shared/sale/load.js";
import { release } from "../shared/ticket/release.js";
import { reserve } from "../shared/ticket/reserve.js";
import { sweep } from "../shared/ticket/sweep.js";
import { ticketKeys } from "../shared/ticket/ticket-keys.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { checkInvariants, waitForRest } from "../tools/harness/invariants.js";
import { untilFinal } from "./helpers/shopper.js";

let env: TestEnv;
let queue: Queue;
beforeAll(async () => {
  env = await createTestEnv({ env: { LOG_LEVEL: "fatal" } });
  queue = new Queue(CHECKOUT_QUEUE, { connection: env.deps.redis, ...checkoutQueueOptions(env.deps.keys) });
});
afterAll(async () => {
  await queue?.close();
  await env?.close();
});

describe("tickets that lost their job", () => {
  it("a ticket accepted but never queued (its API died) is swept up and ends", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "orphan", stock: 1 }] });
    // Admission without the enqueue that should follow it.
    const a = await admit(env.deps, createSaleDirectory(env.deps), { userId: "lost", itemId: "orphan" });
    expect(await queue.getJob(a.ticketId)).toBeUndefined();
    // Nothing happens to it until it is old enough to be called orphaned.
    expect(await sweep(env.deps, queue)).toEqual([]);
    expect(await sweep(env.deps, queue, Date.now() + 60_000)).toEqual([a.ticketId]);
    expect(await untilFinal(env, a.ticketId)).toMatchObject({ status: "purchased" });
    await waitForRest(env.deps, saleId);
    expect((await checkInvariants(env.deps, saleId)).violations).toEqual([]);
  });
  it("a ticket whose job data was spoiled (edited on the dashboard, which shows refs) is swept up with its data rebuilt", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "spoiled", stock: 1 }] });
    const a = await admit(env.deps, createSaleDirectory(env.deps), { userId: "edited", itemId: "spoiled" });
    const ref = refOf(a.ticketId);
    // The job as an edit on the dashboard would save it: the ticket named by its ref, not its id.
    const job = await queue.add(
      TICKET_JOB,
      { ticketId: ref, saleId, itemId: "spoiled", userId: "edited" },
      { jobId: ref },
    );
    for (let i = 0; i < 500 && (await job.getState()) !== "failed"; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(await job.getState()).toBe("failed");
    expect(await sweep(env.deps, queue, Date.now() + 60_000)).toEqual([a.ticketId]);
    expect(await untilFinal(env, a.ticketId)).toMatchObject({ status: "purchased" });
    await waitForRest(env.deps, saleId);
    expect((await checkInvariants(env.deps, saleId)).violations).toEqual([]);
  });
  it("a ticket still not final behind a completed job (kept for the dashboard, JOB_HISTORY) is swept up and ends", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "kept", stock: 2 }] });
    const bought = await env.json<{ ticket_id: string }>(
      `/checkout?user_id=first&id=kept&sale_id=${saleId}`,
      {
        method: "POST",
      },
    );
    expect(await untilFinal(env, bought.body.ticket_id)).toMatchObject({ status: "purchased" });
    const a = await admit(env.deps, createSaleDirectory(env.deps), { userId: "behind", itemId: "kept" });
    // Its job, by its ref, completes having run for another ticket, one already final.
    const job = await queue.add(
      TICKET_JOB,
      { ticketId: bought.body.ticket_id, saleId, itemId: "kept", userId: "first" },
      { jobId: refOf(a.ticketId) },
    );
    for (let i = 0; i < 500 && (await job.getState()) !== "completed"; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(await job.getState()).toBe("completed");
    expect(await sweep(env.deps, queue, Date.now() + 60_000)).toEqual([a.ticketId]);
    expect(await untilFinal(env, a.ticketId)).toMatchObject({ status: "purchased" });
    await waitForRest(env.deps, saleId);
    expect((await checkInvariants(env.deps, saleId)).violations).toEqual([]);
  });
});

describe("two attempts at one ticket", () => {
  it("a second attempt finds the ticket paying and does not pay again", async () => {
    await env.setPayments({ latency_ms: { min: 300, max: 300 }, failure_rate: 0, hang_rate: 0 });
    const saleId = await env.createSale({ items: [{ item_id: "twice", stock: 1 }] });
    const res = await env.json<{ ticket_id: string }>("/checkout?user_id=t&id=twice", { method: "POST" });
    const ticket = res.body.ticket_id;
    for (;;) {
      if (
        (await env.deps.redis.hget(env.deps.keys.ticket(saleId, ticket.split("-")[1] ?? ""), "st")) ===
        "paying"
      )
        break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const k = ticketKeys(env.deps, { ticketId: ticket, saleId, itemId: "twice", userId: "t" });
    await env.deps.redis.zadd(env.deps.keys.slots, Date.now() + 10_000, "intruder");
    const { status } = await startPayment(env.deps, k, 1000, "intruder");
    expect(status).toBe("busy");
    await env.deps.redis.zrem(env.deps.keys.slots, "intruder");
    expect(await untilFinal(env, ticket)).toMatchObject({ status: "purchased" });
    await env.setPayments({ latency_ms: { min: 0, max: 2 } });
  });

  it("a slot whose lease ran out before the payment started is not used", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "lapsed", stock: 1 }] });
    const a = await admit(env.deps, createSaleDirectory(env.deps), { userId: "l", itemId: "lapsed" });
    const k = ticketKeys(env.deps, { ticketId: a.ticketId, saleId, itemId: "lapsed", userId: "l" });
    expect((await reserve(env.deps, k)).state).toBe("reserved");
    await env.deps.redis.zadd(env.deps.keys.slots, Date.now() - 1, "late-holder");
    expect(await startPayment(env.deps, k, 1000, "late-holder")).toEqual({ status: "noslot" });
    expect(await env.deps.redis.hget(k.ticket, "st")).toBe("reserved");
    await queue.add(
      "ticket",
      { ticketId: a.ticketId, saleId, itemId: "lapsed", userId: "l" },
      { jobId: a.ticketId },
    );
    expect(await untilFinal(env, a.ticketId)).toMatchObject({ status: "purchased" });
  });
});

describe("a payment's deadline and its slot's lease", () => {
  it("a payment never runs past its slot's lease: a lease too short for the timeout is stretched first", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "leased", stock: 1 }] });
    const a = await admit(env.deps, createSaleDirectory(env.deps), { userId: "p", itemId: "leased" });
    const k = ticketKeys(env.deps, { ticketId: a.ticketId, saleId, itemId: "leased", userId: "p" });
    expect((await reserve(env.deps, k)).state).toBe("reserved");
    // Granted long ago, as the caller believes: its lease ends in 200 ms, the payment may take 2 s.
    const believed = Date.now() + 200;
    await env.deps.redis.zadd(env.deps.keys.slots, believed, "short-lease");
    const { status, deadline } = await startPayment(env.deps, k, 2000, "short-lease", believed);
    expect(status).toBe("paying");
    const lease = Number(await env.deps.redis.zscore(env.deps.keys.slots, "short-lease"));
    expect(Number(deadline) + LEASE_GRACE_MS).toBeLessThanOrEqual(lease);
    expect(Number(deadline)).toBeGreaterThan(believed);
    await env.deps.redis.zrem(env.deps.keys.slots, "short-lease");
    await release(env.deps, k, "payment_timeout", "short-lease");
  });
});

describe("an attempt left over from before a Redis loss", () => {
  it("can neither fail nor mark paid the payment of the ticket re-created since", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "stale", stock: 1 }] });
    const a = await admit(env.deps, createSaleDirectory(env.deps), { userId: "s", itemId: "stale" });
    const k = ticketKeys(env.deps, { ticketId: a.ticketId, saleId, itemId: "stale", userId: "s" });
    expect((await reserve(env.deps, k)).state).toBe("reserved");
    await env.deps.redis.zadd(env.deps.keys.slots, Date.now() + 10_000, "live-holder");
    expect((await startPayment(env.deps, k, 5000, "live-holder")).status).toBe("paying");
    // The old attempt's answers arrive: a decline, then an approval.
    expect(await release(env.deps, k, "payment_declined", "old-holder")).toEqual({
      outcome: "noop",
      why: "other",
    });
    expect(await markPaid(env.deps, k, "old-holder")).toEqual({ outcome: "late", why: "other" });
    expect(await env.deps.redis.hget(k.ticket, "st")).toBe("paying");
    // The live attempt decides.
    expect(await markPaid(env.deps, k, "live-holder")).toEqual({ outcome: "paid" });
    await queue.add(
      "ticket",
      { ticketId: a.ticketId, saleId, itemId: "stale", userId: "s" },
      { jobId: a.ticketId },
    );
    expect(await untilFinal(env, a.ticketId)).toMatchObject({ status: "purchased" });
    await waitForRest(env.deps, saleId);
    expect((await checkInvariants(env.deps, saleId)).violations).toEqual([]);
  });
});

describe("PostgreSQL refusing a buyer", () => {
  it("a user over the limit in PostgreSQL is rejected, and the unit goes back to stock", async () => {
    const saleId = await env.createSale({
      items: [
        { item_id: "a", stock: 1 },
        { item_id: "b", stock: 1 },
      ],
      user_limit: 1,
    });
    expect(
      await untilFinal(
        env,
        (await env.json<{ ticket_id: string }>("/checkout?user_id=greedy&id=a", { method: "POST" })).body
          .ticket_id,
      ),
    ).toMatchObject({ status: "purchased" });
    // Redis forgets that the user already holds their one unit.
    await env.deps.redis.hdel(env.deps.keys.held(saleId), "greedy");
    const second = await env.json<{ ticket_id: string }>("/checkout?user_id=greedy&id=b", { method: "POST" });
    expect(await untilFinal(env, second.body.ticket_id)).toMatchObject({
      status: "rejected",
      reason: "user_limit_reached",
    });
    const item = await env.json<{ stock: { available: number; total: number } }>("/items/b");
    expect(item.body.stock).toMatchObject({ available: 1, total: 1 });
    // Someone else can still buy it.
    const other = await env.json<{ ticket_id: string }>("/checkout?user_id=modest&id=b", { method: "POST" });
    expect(await untilFinal(env, other.body.ticket_id)).toMatchObject({ status: "purchased" });
    await env.deps.redis.hset(env.deps.keys.held(saleId), "greedy", 1);
    await waitForRest(env.deps, saleId);
    expect((await checkInvariants(env.deps, saleId)).violations).toEqual([]);
  });
});

describe("reloading a sale into an empty Redis", () => {
  it("a sale not open yet is listed for its room's opener again, and its room opens", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "roomy", stock: 1 }], starts_in_s: 2 });
    const { redis, keys } = env.deps;
    // Lose the sale's keys and the list of sales whose room may need opening.
    await redis.del(...(await redis.keys(`${keys.prefix}:{s${saleId}}:*`)), keys.rooms);
    expect(await loadSale(env.deps, saleId)).toBe(true);
    expect(await redis.zscore(keys.rooms, saleId)).not.toBeNull();
    const r = await env.json<{ ticket_id: string; position: number | null }>("/checkout?user_id=r&id=roomy", {
      method: "POST",
    });
    expect(r.status).toBe(202);
    expect(r.body.position).toBeNull();
    expect(await untilFinal(env, r.body.ticket_id, 10_000)).toMatchObject({ status: "purchased" });
  });

  it("never reuses a ticket id even when PostgreSQL never heard of any ticket of the sale", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "unheard", stock: 5 }] });
    const { redis, keys } = env.deps;
    // Redis hands out ids 1-40 (checkouts whose attempts never reached PostgreSQL,
    // as while it is down), then is lost.
    const handedOut = await redis.hincrby(keys.sale(saleId), "tseq", 40);
    await redis.del(...(await redis.keys(`${keys.prefix}:{s${saleId}}:*`)));
    expect(await loadSale(env.deps, saleId)).toBe(true);
    const next = await env.json<{ ticket_id: string }>("/checkout?user_id=u2&id=unheard", { method: "POST" });
    expect(next.status).toBe(202);
    expect(Number(next.body.ticket_id.split("-")[1])).toBeGreaterThan(handedOut);
  });

  it("never reuses a ticket id and remembers what each user bought", async () => {
    const saleId = await env.createSale({ items: 5, stock_per_item: 1, user_limit: 2 });
    const bought: string[] = [];
    for (const item of ["1", "2"]) {
      const r = await env.json<{ ticket_id: string }>(`/checkout?user_id=early&id=${item}`, {
        method: "POST",
      });
      expect(await untilFinal(env, r.body.ticket_id)).toMatchObject({ status: "purchased" });
      bought.push(r.body.ticket_id);
    }
    const { redis, keys } = env.deps;
    const before = Number(await redis.hget(keys.sale(saleId), "tseq"));
    // Lose every Redis key of this sale.
    const found = await redis.keys(`${keys.prefix}:{s${saleId}}:*`);
    await redis.del(...found);
    // Durability: a purchased ticket outlives the Redis that held it.
    for (const id of bought) {
      const t = await env.json<{ status: string; purchase_id: string | null }>(`/tickets/${id}`);
      expect(t.body).toMatchObject({ status: "purchased", purchase_id: expect.any(String) });
    }
    expect(await loadSale(env.deps, saleId)).toBe(true);
    expect(Number(await redis.hget(keys.sale(saleId), "tseq"))).toBeGreaterThan(before);
    expect(await redis.hget(keys.held(saleId), "early")).toBe("2");
    const refused = await env.json<{ error: { code: string } }>("/checkout?user_id=early&id=3", {
      method: "POST",
    });
    expect(refused.body.error.code).toBe("user_limit_reached");
    const fresh = await env.json<{ ticket_id: string }>("/checkout?user_id=late&id=3", { method: "POST" });
    expect(Number(fresh.body.ticket_id.split("-")[1])).toBeGreaterThan(before);
    expect(await untilFinal(env, fresh.body.ticket_id)).toMatchObject({ status: "purchased" });
  });
});
