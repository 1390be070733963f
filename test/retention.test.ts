import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeEndedSales } from "../scheduler/calendar.js";
import { scanKeys } from "../shared/redis.js";
import { pruneAttempts } from "../shared/sales/retire.js";
import { createTestEnv, type TestEnv } from "./helpers/env.js";
import { checkInvariants } from "./helpers/invariants.js";

// Redis stays flat across sales (issue 13): a sale's keys leave Redis once it has ended
// (SALE_RETENTION_S ago) and every ticket is final; its reads come from PostgreSQL.
// The calendar's tick is driven here with a clock ahead of the real one, so 48 sales run
// in seconds.

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ env: { LOG_LEVEL: "fatal", SALE_RETENTION_S: "1", RATE_USER_PER_S: "0" } });
});
afterAll(async () => {
  await env?.close();
});

/** This suite's own keys in Redis (its prefix and its queues'), how many and their bytes (MEMORY USAGE). */
async function ownKeys() {
  let count = 0;
  let bytes = 0;
  for (const pattern of [`${env.deps.keys.prefix}:*`, `${env.deps.keys.bull}*`]) {
    for await (const found of scanKeys(env.deps.redis, pattern)) {
      count += found.length;
      // BullMQ's events stream is bounded on its own (about 100 entries, trimmed in blocks): checked apart.
      for (const k of found)
        if (!k.endsWith(":events")) bytes += Number((await env.deps.redis.memory("USAGE", k)) ?? 0);
    }
  }
  return { count, bytes };
}

describe("Redis across many sales", () => {
  it("48 sales in a row: keys and memory stay flat once ended sales leave Redis; their reads come from PostgreSQL", async () => {
    const sizes: { count: number; bytes: number }[] = [];
    let first: { saleId: string; ticket: string } | null = null;
    for (let s = 0; s < 48; s++) {
      // Two seconds long, so it has ended (by the real clock too) when the audit reads it below.
      const saleId = await env.createSale({ items: 50, stock_per_item: 1, duration_s: 2 });
      const bought = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          env.json<{ ticket_id: string; status: string }>(
            `/checkout?user_id=r${s}u${i}&id=${i + 1}&wait=10000`,
            {
              method: "POST",
            },
          ),
        ),
      );
      expect(bought.map((b) => b.body.status)).toEqual(bought.map(() => "purchased"));
      first ??= { saleId, ticket: bought[0]?.body.ticket_id ?? "" };
      // A few seconds later by the calendar's clock: the sale ended, past its retention (1 s).
      await closeEndedSales(env.deps, Date.now() + 5000);
      sizes.push(await ownKeys());
    }
    const { redis, keys } = env.deps;

    console.info(
      `own keys after each sale: ${sizes.map((x) => x.count).join(" ")}; Redis used_memory ${(await redis.info("memory")).match(/used_memory:(\d+)/)?.[1]}`,
    );
    // Flat after the first few: the last sale leaves as much behind as the fifth.
    const fifth = sizes[4];
    const last = sizes.at(-1);
    expect(last?.count).toBeLessThanOrEqual((fifth?.count ?? 0) + 5);
    expect(last?.bytes ?? 0).toBeLessThanOrEqual((fifth?.bytes ?? 0) * 1.1 + 2048);
    expect(await redis.zcard(keys.timeline)).toBe(0);
    expect(await redis.xlen(`${keys.bull}:checkout:events`)).toBeLessThanOrEqual(300);

    // An old sale and its purchases are still there, from PostgreSQL.
    const saleId = first?.saleId ?? "";
    await new Promise((r) => setTimeout(r, 2500));
    expect(await redis.exists(keys.sale(saleId))).toBe(0);
    const sale = await env.json<{ stock: { sold: number; total: number } }>(`/sales/${saleId}`);
    expect(sale.status).toBe(200);
    expect(sale.body.stock).toMatchObject({ sold: 5, total: 50 });
    const ticket = await env.json<{ status: string }>(`/tickets/${first?.ticket}`);
    expect(ticket.body.status).toBe("purchased");
    expect((await checkInvariants(env.deps, saleId)).violations).toEqual([]);
  });

  it("a sale with a ticket not final stays in Redis past its retention", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "busy", stock: 1 }] });
    await env.setPayments({ hang_rate: 1, timeout_ms: 3000 });
    try {
      await env.json("/checkout?user_id=hang&id=busy", { method: "POST" });
      await new Promise((r) => setTimeout(r, 300));
      await closeEndedSales(env.deps, Date.now() + 3600_000 + 5000);
      expect(await env.deps.redis.zscore(env.deps.keys.timeline, saleId)).not.toBeNull();
      expect(await env.deps.redis.exists(env.deps.keys.sale(saleId))).toBe(1);
    } finally {
      await env.setPayments({ hang_rate: 0 });
    }
  });

  it("checkout attempts older than their retention are pruned; refusals of unknown items are not written", async () => {
    const sql = env.deps.db.client;
    await sql`insert into checkout_attempts (sale_id, item_id, user_id, ticket_id, outcome, created_at)
              values (null, 'x', 'old', null, 'sold_out', now() - interval '30 days')`;
    for (let i = 0; i < 50; i++)
      await env.request(`/checkout?user_id=f${i}&id=no-such-item-${i}`, { method: "POST" });
    await env.api.ctx.attempts.drain();
    const [unknown] = await sql<
      { n: string }[]
    >`select count(*)::text as n from checkout_attempts where outcome = 'item_not_found'`;
    expect(unknown?.n).toBe("0");
    expect(await pruneAttempts(env.deps, 7)).toBe(1);
    const [old] = await sql<
      { n: string }[]
    >`select count(*)::text as n from checkout_attempts where user_id = 'old'`;
    expect(old?.n).toBe("0");
  });
});
