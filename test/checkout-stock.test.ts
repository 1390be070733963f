import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countBy, crowd } from "../tools/harness/crowd.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { checkInvariants, slotsAtRest, waitForRest } from "../tools/harness/invariants.js";

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => {
  await env?.close();
});

describe("many buyers, little stock", () => {
  it("50 buyers at once for a product with stock 5 buy exactly 5", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "P5", stock: 5, name: "Five" }] });
    const answers = await crowd(50, 50, (i) =>
      env.json(`/checkout?user_id=buyer${i}&id=P5`, { method: "POST" }),
    );
    for (const a of answers) expect([202, 409, 503]).toContain(a.status);
    const tickets = await waitForRest(env.deps, saleId);
    const report = await checkInvariants(env.deps, saleId);
    expect(report.violations).toEqual([]);
    expect(report.sold).toBe(5);
    expect(report.purchases).toBe(5);
    expect(countBy(tickets, (t) => t.status).purchased).toBe(5);
    const item = await env.json<{ stock: { available: number; sold: number } }>("/items/P5");
    expect(item.body.stock).toMatchObject({ available: 0, sold: 5 });
    expect(await slotsAtRest(env.deps)).toMatchObject({ held: 0, inFlight: 0 });
  });

  it("700 buyers at once for one item of stock 1 buy exactly 1", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "one", stock: 1 }] });
    const answers = await crowd(700, 700, (i) =>
      env.json(`/checkout`, { method: "POST", json: { user_id: `u${i}`, item_id: "one" } }),
    );
    const statuses = countBy(answers, (a) => String(a.status));
    expect(Object.keys(statuses).every((s) => ["202", "409", "503"].includes(s))).toBe(true);
    await waitForRest(env.deps, saleId);
    const report = await checkInvariants(env.deps, saleId);
    expect(report.violations).toEqual([]);
    expect(report.purchases).toBe(1);
    expect(report.sold).toBe(1);
    // Once sold out, checkout says so at the edge without queueing anything.
    const late = await env.json<{ error: { code: string } }>("/checkout?user_id=late&id=one", {
      method: "POST",
    });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe("sold_out");
  });
});

describe("sold out at the edge", () => {
  it("stock added after a sellout is on sale at once, and a replayed Idempotency-Key still finds its ticket", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "again", stock: 1 }] });
    const first = await env.json<{ ticket_id: string }>("/checkout?user_id=a1&id=again", {
      method: "POST",
      headers: { "idempotency-key": "k-again" },
    });
    expect(first.status).toBe(202);
    await waitForRest(env.deps, saleId);
    // Refused twice: the second refusal comes from the API's memory of the first.
    for (const user of ["a2", "a3"]) {
      const r = await env.json<{ error: { code: string } }>(`/checkout?user_id=${user}&id=again`, {
        method: "POST",
      });
      expect(r.body.error.code).toBe("sold_out");
    }
    const replay = await env.json<{ ticket_id: string }>("/checkout?user_id=a1&id=again", {
      method: "POST",
      headers: { "idempotency-key": "k-again" },
    });
    expect(replay.status).toBe(202);
    expect(replay.body.ticket_id).toBe(first.body.ticket_id);
    const added = await env.json(`/admin/items/again/stock`, {
      method: "POST",
      admin: true,
      json: { delta: 1 },
    });
    expect(added.status).toBe(200);
    const after = await env.json<{ ticket_id: string }>("/checkout?user_id=a4&id=again", { method: "POST" });
    expect(after.status).toBe(202);
    await waitForRest(env.deps, saleId);
    const report = await checkInvariants(env.deps, saleId);
    expect(report.violations).toEqual([]);
    expect(report.sold).toBe(2);
  });
});
