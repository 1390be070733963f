import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { masters } from "../shared/redis.js";
import { countBy, crowd } from "../tools/harness/crowd.js";
import { createProcessEnv } from "../tools/harness/env.js";
import { checkInvariants, slotsAtRest, waitForRest } from "../tools/harness/invariants.js";
import { clusterUnavailable, type LocalCluster, startLocalCluster } from "./helpers/redis-cluster.js";

// The same system, unchanged, on a three-master Redis Cluster: every script and MULTI
// touches one slot (shared/keys.ts), BullMQ's keys share its prefix's hash tag, and
// ticket events published in one slot reach a subscriber on any node.

const ITEMS = 300;
const SLOTS = 10;
const skip = clusterUnavailable();
if (skip) console.warn(skip);

let cluster: LocalCluster | undefined;
let env: Awaited<ReturnType<typeof createProcessEnv>> | undefined;

beforeAll(async () => {
  if (skip) return;
  cluster = await startLocalCluster();
  env = await createProcessEnv({ workers: 2, env: { REDIS_CLUSTER_NODES: cluster.nodes } });
}, 60_000);
afterAll(async () => {
  await env?.close();
  await cluster?.stop();
});

describe.skipIf(skip)("redis cluster", () => {
  it(`a sale of ${ITEMS} items on three masters keeps every invariant`, async () => {
    if (!env) throw new Error("no environment");
    const e = env;
    await e.setPayments({ slots: SLOTS, latency_ms: { min: 2, max: 10 }, failure_rate: 0.2, hang_rate: 0 });
    // Workers follow settings within a second.
    await new Promise((r) => setTimeout(r, 1000));
    const subs = masters(e.deps.redis).map((m) => new Redis(m.options));
    const heard = subs.map(() => 0);
    await Promise.all(
      subs.map(async (s, i) => {
        s.on("pmessage", () => {
          heard[i] = (heard[i] ?? 0) + 1;
        });
        await s.psubscribe(e.deps.keys.eventsPattern);
      }),
    );
    const saleId = await e.createSale({ items: ITEMS, stock_per_item: 1, user_limit: 10 });
    // Every item is wanted twice, so declined payments hand units to waiting tickets.
    const answers = await crowd(ITEMS * 2, 100, async (i) => {
      const res = await e.request(`/checkout?user_id=c${i % 200}&id=${(i % ITEMS) + 1}`, { method: "POST" });
      await res.body?.cancel();
      return res.status;
    });
    const byStatus = countBy(answers, String);
    expect(
      Object.keys(byStatus).every((s) => ["202", "409", "429"].includes(s)),
      JSON.stringify(byStatus),
    ).toBe(true);
    expect(byStatus["202"]).toBeGreaterThan(ITEMS);

    await waitForRest(e.deps, saleId, 120_000);
    const report = await checkInvariants(e.deps, saleId);
    expect(report.violations).toEqual([]);
    expect(report.sold).toBeGreaterThan(ITEMS / 2);
    const payments = await e.json<{ peak_in_flight: number }>("/admin/payments", { admin: true });
    expect(payments.body.peak_in_flight).toBeLessThanOrEqual(SLOTS);
    expect(await slotsAtRest(e.deps)).toMatchObject({ held: 0, inFlight: 0 });

    // The sale's ticket events, published in its one slot, reached every master, so the
    // API's one subscriber hears them on whichever node it is connected to.
    expect(heard.every((n) => n > 0)).toBe(true);
    for (const s of subs) s.disconnect();
  }, 180_000);

  it("a two_step sale opening with a fair-start room: shuffled, held, paid or expired, in one slot each", async () => {
    if (!env) throw new Error("no environment");
    const e = env;
    await e.setPayments({ failure_rate: 0, hang_rate: 0 });
    const saleId = await e.createSale({
      items: [{ item_id: "Z", stock: 3 }],
      starts_in_s: 2,
      checkout_mode: "two_step",
      hold_s: 1,
    });
    const outcomes = await crowd(10, 10, async (i) => {
      const r = await e.json<{ ticket_id: string; position: number | null }>(`/checkout?user_id=z${i}&id=Z`, {
        method: "POST",
      });
      expect(r.body.position).toBeNull();
      for (;;) {
        const t = (
          await e.json<{ status: string; code?: string | null }>(`/tickets/${r.body.ticket_id}?wait=3000`)
        ).body;
        if (["purchased", "rejected", "failed"].includes(t.status)) return t.status;
        // Every other shopper pays for its hold; the rest let it expire.
        if (t.code && i % 2 === 0) await e.request(`/purchase?code=${t.code}`, { method: "POST" });
      }
    });
    expect(countBy(outcomes, String).purchased).toBe(3);
    await waitForRest(e.deps, saleId, 60_000);
    const report = await checkInvariants(e.deps, saleId);
    expect(report.violations).toEqual([]);
    expect(report.sold).toBe(3);
  }, 120_000);
});
