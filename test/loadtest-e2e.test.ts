import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runLoad } from "../loadtest/run.js";
import { ADMIN, createProcessEnv } from "../tools/harness/env.js";

// The load generator against a real system (api and worker as processes): it
// must drive a small sale to the end and find every invariant holding. Speed
// is not asserted; the benchmarks report it.

let env: Awaited<ReturnType<typeof createProcessEnv>>;
beforeAll(async () => {
  env = await createProcessEnv();
});
afterAll(async () => {
  await env?.close();
});

describe("the load generator", () => {
  it("sells a 200-item sale out with a closed crowd buying up to the limit, and the invariants hold", async () => {
    const report = await runLoad({
      url: env.url,
      admin: ADMIN,
      createSale: { items: 200, stockPerItem: 1, userLimit: 10, durationS: 600 },
      users: 100,
      arrival: { kind: "concurrency", concurrency: 50 },
      choice: "uniform",
      plan: { buyUpTo: Number.POSITIVE_INFINITY, retries: 1000, pollWaitMs: 2000 },
      durationS: 20,
      drainS: 10,
      checkUsers: "all",
    });
    expect(report.invariants?.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.invariants?.ok).toBe(true);
    // Demand (100 users × 10) exceeds the stock and payments succeed: it all sells.
    expect(report.sold.units).toBe(200);
    expect(report.sold.purchases_seen).toBe(200);
    expect(report.sold.sold_out_s).not.toBeNull();
    expect(report.tickets.unfinished).toBe(0);
    expect(report.latency_ms.checkout.count).toBe(report.requests.checkouts);
  });

  it("keeps the invariants with an open crowd on Zipf-skewed items and declined payments", async () => {
    const report = await runLoad({
      url: env.url,
      admin: ADMIN,
      createSale: { items: 200, stockPerItem: 1, userLimit: 3, durationS: 600 },
      payments: { failure_rate: 0.2, latency_ms: { min: 0, max: 5 } },
      users: 400,
      arrival: { kind: "rate", rate: 200, rampUpS: 0.5, holdS: 1.5, rampDownS: 0.5 },
      choice: "zipf",
      plan: { buyUpTo: 3, retries: 5, pollWaitMs: 2000 },
      durationS: 10,
      drainS: 10,
      checkUsers: "all",
    });
    expect(report.invariants?.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.tickets.final_by_status.failed ?? 0).toBeGreaterThan(0);
    expect(report.tickets.reasons.payment_declined).toBe(report.tickets.final_by_status.failed);
    expect(report.users.started + report.users.dropped).toBeLessThanOrEqual(400);
  });

  it("pays two_step holds, lets the abandoned ones expire to the next in line, and the invariants hold", async () => {
    const report = await runLoad({
      url: env.url,
      admin: ADMIN,
      // A 1 s hold keeps the run short: an abandoned unit is back in line a second later.
      createSale: {
        items: 50,
        stockPerItem: 1,
        userLimit: 10,
        durationS: 600,
        checkoutMode: "two_step",
        holdS: 1,
      },
      users: 60,
      arrival: { kind: "concurrency", concurrency: 30 },
      choice: "uniform",
      plan: { buyUpTo: Number.POSITIVE_INFINITY, retries: 1000, pollWaitMs: 2000, abandonRate: 0.3 },
      durationS: 15,
      drainS: 10,
      checkUsers: "all",
      seed: 7,
    });
    expect(report.invariants?.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.invariants?.ok).toBe(true);
    expect(report.tickets.unfinished).toBe(0);
    expect(report.requests.purchase_requests).toBeGreaterThan(0);
    expect(report.holds.abandoned).toBeGreaterThan(0);
    // Every purchase paid a hold the crowd saw; every unit sold went to a ticket the crowd saw purchased.
    const purchased = report.tickets.final_by_status.purchased ?? 0;
    expect(purchased).toBe(report.sold.units);
    // The abandoned units went on to shoppers who paid: the whole stock sold.
    expect(report.sold.units).toBe(50);
    expect(report.requests.purchase_by_status["202"] ?? 0).toBeGreaterThanOrEqual(purchased);
    expect(report.holds.held).toBeGreaterThanOrEqual(purchased + report.holds.abandoned);
    // Every abandoned hold expired (payers' holds may too, on a slow machine).
    expect(report.tickets.reasons.hold_expired ?? 0).toBeGreaterThanOrEqual(report.holds.abandoned);
  });

  it("puts back the payment settings it changed when asked (as the command line does), and names a target it cannot reach", async () => {
    const read = async () =>
      (await env.json<Record<string, unknown>>("/admin/payments", { admin: true })).body;
    const before = await read();
    await runLoad({
      url: env.url,
      admin: ADMIN,
      createSale: { items: 20, stockPerItem: 1, userLimit: 1, durationS: 600 },
      payments: { failure_rate: 0.5, latency_ms: { min: 1, max: 3 } },
      restorePayments: true,
      users: 20,
      arrival: { kind: "concurrency", concurrency: 10 },
      durationS: 5,
      drainS: 10,
      checkUsers: 5,
    });
    const after = await read();
    expect(after.failure_rate).toEqual(before.failure_rate);
    expect(after.latency_ms).toEqual(before.latency_ms);

    await expect(runLoad({ url: "http://127.0.0.1:9", durationS: 1 })).rejects.toThrow(
      /cannot reach the API at http:\/\/127\.0\.0\.1:9/,
    );
  });
});
