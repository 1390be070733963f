import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCounters } from "../shared/metrics/counters.js";
import { sleep } from "../shared/time.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { checkInvariants, waitForRest } from "../tools/harness/invariants.js";
import { untilFinal, untilStatus } from "./helpers/shopper.js";

// Tickets waiting for a unit sleep as delayed jobs until their re-check. When the
// last unit sells they are rejected at once; their jobs must end then too, or the
// queue (dashboards, /stats, the flood's "jobs queued" bound) counts dead work for
// a whole re-check period, and each would count its rejection a second time.
const RECHECK_MS = 60_000;
let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ env: { WAIT_RECHECK_MS: String(RECHECK_MS) } });
});
afterAll(async () => {
  await env?.close();
});

describe("tickets waiting when the last unit sells", () => {
  it("are rejected sold_out and their jobs leave the queue at once, each counted once", async () => {
    // Slow payments, one at a time: the two holders pay while the others wait behind them.
    await env.setPayments({ failure_rate: 0, hang_rate: 0, latency_ms: { min: 400, max: 400 }, slots: 1 });
    const saleId = await env.createSale({ items: [{ item_id: "W", stock: 2 }], user_limit: 1 });
    const checkout = (u: string) =>
      env.json<{ ticket_id: string }>(`/checkout?user_id=${u}&id=W`, { method: "POST" });
    const holders = [await checkout("h0"), await checkout("h1")];
    await untilStatus(env, holders[0]?.body.ticket_id ?? "", "paying");
    const waiters = await Promise.all(Array.from({ length: 8 }, (_, i) => checkout(`w${i}`)));
    for (const w of waiters) expect(w.status).toBe(202);

    // Every waiter is asleep as a delayed job before the units sell.
    const queue = env.api.ctx.queue;
    for (
      const deadline = Date.now() + 10_000;
      ((await queue.getJobCounts("delayed")).delayed ?? 0) < waiters.length;
    ) {
      if (Date.now() > deadline) throw new Error("the waiters never went to sleep");
      await sleep(20);
    }

    for (const h of holders) expect((await untilFinal(env, h.body.ticket_id)).status).toBe("purchased");
    for (const w of waiters)
      expect(await untilFinal(env, w.body.ticket_id)).toMatchObject({ reason: "sold_out" });

    // Far sooner than their re-check, no job is left sleeping or waiting.
    for (const deadline = Date.now() + 10_000; ; ) {
      const c = await queue.getJobCounts("delayed", "waiting", "active");
      if ((c.delayed ?? 0) + (c.waiting ?? 0) + (c.active ?? 0) === 0) break;
      if (Date.now() > deadline) throw new Error(`jobs left: ${JSON.stringify(c)}`);
      await sleep(50);
    }

    await waitForRest(env.deps, saleId);
    expect((await checkInvariants(env.deps, saleId)).violations).toEqual([]);
    // Counted once, with its reason: the woken jobs add nothing (counters flush every 500 ms).
    await sleep(1200);
    const rejected = (await readCounters(env.deps)).filter(
      (c) => c.name === "tickets_total" && c.labels.status === "rejected",
    );
    expect(rejected.map((c) => [c.labels.reason, c.value])).toEqual([["sold_out", waiters.length]]);
  });
});
