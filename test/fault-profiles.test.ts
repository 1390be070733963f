import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../shared/time.js";
import { countBy, crowd } from "../tools/harness/crowd.js";
import { createProcessEnv } from "../tools/harness/env.js";
import { checkInvariants, readTickets, waitForRest } from "../tools/harness/invariants.js";

const ITEMS = 40;
const FOLLOW_MS = 1500;
let env: Awaited<ReturnType<typeof createProcessEnv>>;
beforeAll(async () => {
  // Small batch jobs, so a wave of 40 checkouts admitted together spreads over both
  // processes (a batch runs in one) and each shows it follows the profile.
  env = await createProcessEnv({ workers: 2, env: { JOB_BATCH_MAX: "4" } });
});
afterAll(async () => {
  await env?.close();
});

/** Checks out every item once with fresh users and waits for all tickets to end. */
async function wave(saleId: string, tag: string) {
  const from = (await readTickets(env.deps, saleId)).length;
  await crowd(ITEMS, ITEMS, (i) =>
    env.request(`/checkout?user_id=${tag}${i}&id=${i + 1}`, { method: "POST" }),
  );
  const tickets = (await waitForRest(env.deps, saleId, 30_000)).slice(from);
  // Which worker process ran each payment is recorded on the ticket.
  const workers = new Set<string>();
  for (const t of tickets)
    workers.add((await env.deps.redis.hget(env.deps.keys.ticket(saleId, String(t.seq)), "w")) ?? "");
  return { outcomes: countBy(tickets, (t) => `${t.status}:${t.reason}`), workers };
}

describe("fault profiles across two worker processes", () => {
  it("an outage fails every payment at its timeout, and switching to healthy makes every one succeed", async () => {
    await env.setPayments({ latency_ms: { min: 5, max: 20 }, timeout_ms: 300, slots: 20, failure_rate: 0 });
    await env.json("/admin/payments/profile", {
      method: "PUT",
      admin: true,
      json: { name: "outage", duration_s: 120 },
    });
    // The contract gives workers a second to follow; half a second more for a loaded machine
    // (a worker's watcher looks each second, so at exactly one second a late look is a race).
    await sleep(FOLLOW_MS);
    const saleId = await env.createSale({ items: ITEMS, stock_per_item: 1 });

    const outage = await wave(saleId, "o");
    expect(outage.outcomes).toEqual({ "failed:payment_timeout": ITEMS });
    expect(outage.workers.size).toBe(2);

    await env.json("/admin/payments/profile", {
      method: "PUT",
      admin: true,
      json: { name: "healthy", duration_s: 120 },
    });
    await sleep(FOLLOW_MS);
    const healthy = await wave(saleId, "h");
    expect(healthy.outcomes).toEqual({ "purchased:": ITEMS });
    expect(healthy.workers.size).toBe(2);

    const report = await checkInvariants(env.deps, saleId);
    expect(report.violations).toEqual([]);
    expect(report.sold).toBe(ITEMS);
  });
});
