import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crowd } from "../tools/harness/crowd.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { checkInvariants, slotsAtRest, waitForRest } from "../tools/harness/invariants.js";
import { persistentShopper, untilFinal, untilStatus } from "./helpers/shopper.js";

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ workers: 2 });
});
afterAll(async () => {
  await env?.close();
});

describe("payments that fail", () => {
  it("product X with stock 10, 10 slots and 1 payment in 45 succeeding sells exactly 10, never more than 10 paying", async () => {
    await env.setPayments({
      failure_rate: 44 / 45,
      hang_rate: 0,
      latency_ms: { min: 2, max: 15 },
      slots: 10,
    });
    const saleId = await env.createSale({ items: [{ item_id: "X", stock: 10, name: "X" }], user_limit: 1 });
    const shoppers = await crowd(100, 100, (i) => persistentShopper(env, `shopper${i}`, "X"));
    expect(shoppers.filter((s) => s.bought)).toHaveLength(10);
    await waitForRest(env.deps, saleId);
    const report = await checkInvariants(env.deps, saleId);
    expect(report.violations).toEqual([]);
    expect(report.sold).toBe(10);
    expect(report.byStatus.failed).toBeGreaterThan(50);
    const payments = await env.json<{ peak_in_flight: number; slots: number }>("/admin/payments", {
      admin: true,
    });
    // Counted by the simulator, not the semaphore: the cap held across both workers...
    expect(payments.body.peak_in_flight).toBeLessThanOrEqual(10);
    // ...and was actually reached for, so this check can fail.
    expect(payments.body.peak_in_flight).toBeGreaterThan(1);
    expect(await slotsAtRest(env.deps)).toMatchObject({ held: 0, inFlight: 0 });
  });

  it("a hanging payment fails at timeout_ms; its unit goes to the earliest waiting ticket and its slot is free again", async () => {
    const timeoutMs = 600;
    await env.setPayments({
      failure_rate: 0,
      hang_rate: 1,
      latency_ms: { min: 1, max: 5 },
      timeout_ms: timeoutMs,
      slots: 1,
    });
    const saleId = await env.createSale({ items: [{ item_id: "H", stock: 1 }] });
    const first = await env.json<{ ticket_id: string }>("/checkout?user_id=hangs&id=H", { method: "POST" });
    const paying = await untilStatus(env, first.body.ticket_id, "paying");
    // Payments from now on go through; the one already in flight keeps hanging.
    await env.setPayments({ hang_rate: 0 });
    const second = await env.json<{ ticket_id: string }>("/checkout?user_id=next&id=H", { method: "POST" });
    const third = await env.json<{ ticket_id: string }>("/checkout?user_id=later&id=H", { method: "POST" });
    expect(second.status).toBe(202);
    expect(third.status).toBe(202);

    const hung = await untilFinal(env, first.body.ticket_id);
    expect(hung).toMatchObject({ status: "failed", reason: "payment_timeout" });
    const hungFor = Date.parse(hung.updated_at) - Date.parse(paying.updated_at);
    expect(hungFor).toBeGreaterThanOrEqual(timeoutMs - 5);
    expect(hungFor).toBeLessThan(timeoutMs + 1500);

    // With a single slot, the next payment could only start once the hung one gave its slot back.
    expect(await untilFinal(env, second.body.ticket_id)).toMatchObject({ status: "purchased" });
    expect(await untilFinal(env, third.body.ticket_id)).toMatchObject({
      status: "rejected",
      reason: "sold_out",
    });
    await waitForRest(env.deps, saleId);
    const report = await checkInvariants(env.deps, saleId);
    expect(report.violations).toEqual([]);
    expect(report.sold).toBe(1);
    expect(await slotsAtRest(env.deps)).toMatchObject({ held: 0, inFlight: 0 });
  });

  it("a declined payment returns the unit to the earliest waiting ticket", async () => {
    await env.setPayments({ failure_rate: 1, hang_rate: 0, latency_ms: { min: 300, max: 300 }, slots: 5 });
    const saleId = await env.createSale({ items: [{ item_id: "D", stock: 1 }] });
    const first = await env.json<{ ticket_id: string }>("/checkout?user_id=declined&id=D", {
      method: "POST",
    });
    await untilStatus(env, first.body.ticket_id, "paying");
    const waiting = [];
    for (const u of ["w1", "w2", "w3"]) {
      waiting.push(
        (await env.json<{ ticket_id: string }>(`/checkout?user_id=${u}&id=D`, { method: "POST" })).body,
      );
    }
    await env.setPayments({ failure_rate: 0, latency_ms: { min: 1, max: 2 } });
    expect(await untilFinal(env, first.body.ticket_id)).toMatchObject({
      status: "failed",
      reason: "payment_declined",
    });
    const [w1, w2, w3] = await Promise.all(waiting.map((w) => untilFinal(env, w.ticket_id)));
    expect(w1?.status).toBe("purchased");
    expect(w2).toMatchObject({ status: "rejected", reason: "sold_out" });
    expect(w3).toMatchObject({ status: "rejected", reason: "sold_out" });
    await waitForRest(env.deps, saleId);
    expect((await checkInvariants(env.deps, saleId)).violations).toEqual([]);
  });
});
