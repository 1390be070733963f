import { randomBytes } from "node:crypto";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admit } from "../shared/checkout/admit.js";
import { markPaid } from "../shared/payment/mark-paid.js";
import { startPayment } from "../shared/payment/start-payment.js";
import { CHECKOUT_QUEUE, checkoutQueueOptions } from "../shared/queues.js";
import { createSaleDirectory } from "../shared/sale/directory.js";
import { reloadSale } from "../shared/sale/load.js";
import { loadItemsScript } from "../shared/sale/load-scripts.js";
import { readmitTickets } from "../shared/sale/readmit.js";
import { createSettler, type Settlement, StaleSettlement } from "../shared/settlement/settle.js";
import { finalize } from "../shared/ticket/finalize.js";
import { release } from "../shared/ticket/release.js";
import { reserve } from "../shared/ticket/reserve.js";
import { ticketKeys } from "../shared/ticket/ticket-keys.js";
import { sleep } from "../shared/time.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";

// Redis lost while workers from before the loss are still settling paid tickets in
// PostgreSQL: the rebuild (shared/sale/load.ts) and those settlements run at the same
// time, for real, and afterwards Redis must agree with PostgreSQL on every unit, every
// user and every ticket. No worker runs here: the test plays the workers that were
// mid-settlement (settle, then finalize in Redis, as worker/process-ticket.ts does) so
// the interleaving is the only thing that varies.

const ITEMS = 400;
const STOCK = 2;
const USERS = 60;
// Paid tickets waiting for settlement when Redis is lost, per round.
const PAID = 240;
// Settlements land spread over this window; the rebuild starts inside it.
const SPREAD_MS = 120;
const ROUNDS = 4;

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ workers: 0, env: { LOG_LEVEL: "fatal", RATE_USER_PER_S: "0" } });
});
afterAll(async () => {
  await env?.close();
});

/** Admits, reserves, pays and marks paid one ticket, as a worker would just before settling it. */
async function paidTicket(saleId: string, userId: string, itemId: string): Promise<Settlement> {
  // Each round's sale numbers its items 1..N, like the others still open: it is named.
  const a = await admit(env.deps, createSaleDirectory(env.deps), { userId, itemId, saleId });
  const s = { ticketId: a.ticketId, saleId, itemId, userId };
  const k = ticketKeys(env.deps, s);
  const holder = `${a.ticketId}:${randomBytes(4).toString("hex")}`;
  expect((await reserve(env.deps, k)).state).toBe("reserved");
  await env.deps.redis.zadd(env.deps.keys.slots, Date.now() + 60_000, holder);
  expect((await startPayment(env.deps, k, 60_000, holder)).status).toBe("paying");
  expect(await markPaid(env.deps, k, holder)).toEqual({ outcome: "paid" });
  return s;
}

/** PostgreSQL heard of every ticket's acceptance (the API's attempt recorder, flushed). */
async function recordAccepted(tickets: Settlement[]) {
  const sql = env.deps.db.client;
  await sql`
    insert into checkout_attempts (sale_id, item_id, user_id, ticket_id, outcome, created_at)
    select s, i, u, t, 'accepted', now() from unnest(
      ${sql.array(tickets.map((t) => t.saleId))}::bigint[],
      ${sql.array(tickets.map((t) => t.itemId))}::text[],
      ${sql.array(tickets.map((t) => t.userId))}::text[],
      ${sql.array(tickets.map((t) => t.ticketId))}::text[]
    ) as x(s, i, u, t)`;
}

async function loseSale(saleId: string) {
  const { redis, keys } = env.deps;
  const found = await redis.keys(`${keys.prefix}:{s${saleId}}:*`);
  if (found.length) await redis.del(...found);
}

/**
 * What must hold right after a rebuild, before any re-created ticket has run: nothing
 * is reserved (units held when Redis was lost came back), so per item Redis sold =
 * PostgreSQL sold and available + sold = stock; per user Redis held = PostgreSQL's
 * purchases; and no ticket is queued again that PostgreSQL already settled.
 */
async function disagreements(saleId: string): Promise<string[]> {
  const { redis, keys } = env.deps;
  const sql = env.deps.db.client;
  const sid = Number(saleId);
  const out: string[] = [];
  const items = await sql<{ item_id: string; stock: number; sold: number }[]>`
    select item_id, stock, sold from items where sale_id = ${sid}`;
  for (const it of items) {
    const [tot = 0, av = 0, rs = 0, sd = 0] = (
      await redis.hmget(keys.item(saleId, it.item_id), "tot", "av", "rs", "sd")
    ).map(Number);
    if (sd !== it.sold) out.push(`item ${it.item_id}: Redis sold ${sd}, PostgreSQL ${it.sold}`);
    if (av < 0 || av + rs + sd !== tot)
      out.push(`item ${it.item_id}: available ${av} + reserved ${rs} + sold ${sd} != ${tot}`);
  }
  const held = await redis.hgetall(keys.held(saleId));
  const users = await sql<{ user_id: string; n: number }[]>`
    select user_id, count(*)::int as n from purchases where sale_id = ${sid} group by user_id`;
  for (const u of users) {
    if (u.n > 10) out.push(`user ${u.user_id}: ${u.n} purchases, over the limit`);
    if (Number(held[u.user_id] ?? 0) !== u.n)
      out.push(`user ${u.user_id}: Redis holds ${held[u.user_id] ?? 0}, PostgreSQL purchases ${u.n}`);
  }
  const bought = await sql<{ ticket_id: string }[]>`select ticket_id from purchases where sale_id = ${sid}`;
  const pipe = redis.pipeline();
  for (const b of bought) pipe.hget(keys.ticket(saleId, b.ticket_id.split("-")[1] ?? ""), "st");
  const states = (await pipe.exec()) ?? [];
  bought.forEach((b, i) => {
    const st = states[i]?.[1];
    if (st === "queued") out.push(`ticket ${b.ticket_id}: purchased in PostgreSQL, queued again in Redis`);
  });
  return out;
}

describe("a Redis rebuild racing settlements from before the loss", () => {
  it("leaves Redis agreeing with PostgreSQL on every unit, user and ticket", async () => {
    const settler = createSettler(env.deps);
    const found: string[] = [];
    let settled = 0;
    let fenced = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const saleId = await env.createSale({ items: ITEMS, stock_per_item: STOCK, user_limit: 10 });
      const paid: Settlement[] = [];
      for (let i = 0; i < PAID; i++) {
        paid.push(await paidTicket(saleId, `u${i % USERS}`, String(1 + ((i * 7) % ITEMS))));
      }
      await recordAccepted(paid);
      await loseSale(saleId);
      // The workers carry on: each settles, then mirrors the purchase in Redis.
      const settling = paid.map(async (s) => {
        await sleep(Math.random() * SPREAD_MS);
        try {
          const r = await settler.settle(s);
          if ("purchaseId" in r) {
            settled++;
            await finalize(env.deps, ticketKeys(env.deps, s), r.purchaseId);
          }
        } catch (err) {
          // Refused because Redis no longer knows the payment: the ticket runs again.
          if (!(err instanceof StaleSettlement)) throw err;
          fenced++;
        }
      });
      const rebuilding = (async () => {
        await sleep(SPREAD_MS / 4);
        return reloadSale(env.deps, saleId);
      })();
      await Promise.all([...settling, rebuilding]);
      found.push(...(await disagreements(saleId)).map((d) => `round ${round}: ${d}`));
    }
    // Both outcomes must have happened, or the race was not exercised.
    expect(settled).toBeGreaterThan(0);
    const kinds = { sold: 0, conservation: 0, held: 0, limit: 0, requeued: 0 };
    for (const f of found) {
      if (f.includes("Redis sold")) kinds.sold++;
      else if (f.includes("available")) kinds.conservation++;
      else if (f.includes("Redis holds")) kinds.held++;
      else if (f.includes("over the limit")) kinds.limit++;
      else kinds.requeued++;
    }
    expect({ kinds, examples: found.slice(0, 10) }).toEqual({
      kinds: { sold: 0, conservation: 0, held: 0, limit: 0, requeued: 0 },
      examples: [],
    });
    // Settled before the rebuild read the sale, or refused after: both must be seen to count.
    console.info(`settled ${settled}, refused ${fenced}`);
  });
});

describe("the two orders of a settlement and a rebuild, one at a time", () => {
  it("settled before the rebuild: Redis counts the purchase, and the late finalize changes nothing", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "one", stock: 1 }] });
    const s = await paidTicket(saleId, "first", "one");
    await recordAccepted([s]);
    await loseSale(saleId);
    const settler = createSettler(env.deps);
    // Redis has no sale yet: the settlement commits (the reload will read it).
    const r = await settler.settle(s);
    expect(r).toMatchObject({ purchaseId: expect.any(String) });
    expect(await reloadSale(env.deps, saleId)).toEqual([]);
    const k = ticketKeys(env.deps, s);
    // The worker's finalize, after the rebuild: the ticket is gone from Redis, nothing is counted twice.
    await finalize(env.deps, k, "purchaseId" in r ? r.purchaseId : "");
    expect(await env.deps.redis.hget(k.ticket, "st")).toBeNull();
    expect(await disagreements(saleId)).toEqual([]);
    expect(await env.deps.redis.hmget(env.deps.keys.item(saleId, "one"), "av", "sd")).toEqual(["0", "1"]);
    expect(await env.deps.redis.hget(env.deps.keys.held(saleId), "first")).toBe("1");
  });

  it("settled after the rebuild queued the ticket again: refused, and the ticket is left to run anew", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "two", stock: 1 }] });
    const s = await paidTicket(saleId, "second", "two");
    await recordAccepted([s]);
    await loseSale(saleId);
    expect((await reloadSale(env.deps, saleId))?.map((j) => j.ticketId)).toEqual([s.ticketId]);
    await expect(createSettler(env.deps).settle(s)).rejects.toBeInstanceOf(StaleSettlement);
    const [{ n } = { n: -1 }] = await env.deps.db.client<{ n: number }[]>`
      select count(*)::int as n from purchases where ticket_id = ${s.ticketId}`;
    expect(n).toBe(0);
    expect(await disagreements(saleId)).toEqual([]);
    const k = ticketKeys(env.deps, s);
    expect(await env.deps.redis.hget(k.ticket, "st")).toBe("queued");
    // Its new run reserves, pays and settles like any ticket.
    const holder = `${s.ticketId}:again`;
    expect((await reserve(env.deps, k)).state).toBe("reserved");
    await env.deps.redis.zadd(env.deps.keys.slots, Date.now() + 60_000, holder);
    expect((await startPayment(env.deps, k, 60_000, holder)).status).toBe("paying");
    expect(await markPaid(env.deps, k, holder)).toEqual({ outcome: "paid" });
    const r = await createSettler(env.deps).settle(s);
    await finalize(env.deps, k, "purchaseId" in r ? r.purchaseId : "");
    expect(await env.deps.redis.hget(k.ticket, "st")).toBe("purchased");
    expect(await disagreements(saleId)).toEqual([]);
    await env.deps.redis.zrem(env.deps.keys.slots, holder);
  });
});

describe("a job from before the loss whose payment answers after the rebuild", () => {
  it("cannot fail the ticket re-created since, while its new attempt has only reserved", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "old", stock: 1 }] });
    const a = await admit(env.deps, createSaleDirectory(env.deps), { userId: "again", itemId: "old" });
    const k = ticketKeys(env.deps, { ticketId: a.ticketId, saleId, itemId: "old", userId: "again" });
    expect((await reserve(env.deps, k)).state).toBe("reserved");
    // The old attempt's payment was declined: it tries to fail the ticket with its own slot holder.
    expect(await release(env.deps, k, "payment_declined", `${a.ticketId}:old`)).toEqual({
      outcome: "noop",
      why: "other",
    });
    expect(await env.deps.redis.hget(k.ticket, "st")).toBe("reserved");
  });
});

describe("a reload that died half-way", () => {
  it("holds settlements of its sale off until the next reload publishes it, and Redis then agrees", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "mid", stock: 2 }] });
    const s = await paidTicket(saleId, "paid-before", "mid");
    await recordAccepted([s]);
    await loseSale(saleId);
    // A loader marked the sale, read PostgreSQL (nothing sold yet), wrote the item and
    // re-created the ticket, then died before publishing the sale.
    const { redis, keys } = env.deps;
    await redis.set(keys.saleUnpublished(saleId), "1");
    await loadItemsScript.run(redis, {}, {}, [
      { keys: { item: keys.item(saleId, "mid") }, args: { total: 2, sold: 0 } },
    ]);
    expect(await readmitTickets(env.deps, saleId)).toHaveLength(1);
    // The job from before the loss may not settle: the next reload keeps the item as read.
    await expect(createSettler(env.deps).settle(s)).rejects.toBeInstanceOf(StaleSettlement);
    expect((await reloadSale(env.deps, saleId))?.map((j) => j.ticketId)).toEqual([s.ticketId]);
    expect(await redis.exists(keys.saleUnpublished(saleId))).toBe(0);
    expect(await disagreements(saleId)).toEqual([]);
  });
});

describe("a reload that finds tickets re-created by a loader that died", () => {
  it("counts them in the sale's queue total and queues them", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "half", stock: 3 }] });
    const tickets: Settlement[] = [];
    for (const u of ["a", "b", "c", "d", "e"]) {
      const a = await admit(env.deps, createSaleDirectory(env.deps), { userId: u, itemId: "half" });
      tickets.push({ ticketId: a.ticketId, saleId, itemId: "half", userId: u });
    }
    await recordAccepted(tickets);
    await loseSale(saleId);
    // A first loader got as far as the items and the re-created tickets, then died.
    await loadItemsScript.run(env.deps.redis, {}, {}, [
      { keys: { item: env.deps.keys.item(saleId, "half") }, args: { total: 3, sold: 0 } },
    ]);
    expect(await readmitTickets(env.deps, saleId)).toHaveLength(5);
    // The next one finishes the job.
    const jobs = await reloadSale(env.deps, saleId);
    expect(jobs?.map((j) => j.ticketId).sort()).toEqual(tickets.map((t) => t.ticketId).sort());
    // Queued by the reload itself, whoever called it (not only a rebuild).
    const queue = new Queue(CHECKOUT_QUEUE, {
      connection: env.deps.redis,
      ...checkoutQueueOptions(env.deps.keys),
    });
    // In ticket order (invariant 10: served in the order accepted), oldest first.
    // Job ids are the tickets' refs (<sale>-<seq>); the ticket ids are in their data.
    const waiting = (await queue.getJobs(["wait"], 0, -1, true))
      .map((j) => (j.data as { ticketId?: string }).ticketId)
      .filter((id) => id?.startsWith(`${saleId}-`));
    expect(waiting).toEqual(tickets.map((t) => t.ticketId));
    await queue.close();
    // The sale's total matches its items' (the audit's conservation, counted here
    // directly: the audit reads tickets 1..n, and a reload numbers new ones from a million up).
    expect(await env.deps.redis.hget(env.deps.keys.sale(saleId), "q")).toBe("5");
    expect(await env.deps.redis.hget(env.deps.keys.item(saleId, "half"), "q")).toBe("5");
  });
});
