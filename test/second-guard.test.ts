import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crowd } from "../tools/harness/crowd.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { checkInvariants, waitForRest } from "../tools/harness/invariants.js";

let env: TestEnv;
beforeAll(async () => {
  // Refused settlements log an error; that is the point of this suite.
  env = await createTestEnv({ env: { LOG_LEVEL: "fatal" } });
});
afterAll(async () => {
  await env?.close();
});

describe("PostgreSQL, the second guard", () => {
  it("a Redis that wrongly shows 6 units for a stock of 1 still sells exactly 1", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "G", stock: 1 }] });
    const { redis, keys } = env.deps;
    // Corrupt the hot path: five units that do not exist.
    for (const key of [keys.item(saleId, "G"), keys.sale(saleId)]) {
      await redis.hincrby(key, "av", 5);
      await redis.hincrby(key, "tot", 5);
    }
    await crowd(6, 6, (i) => env.request(`/checkout?user_id=g${i}&id=G`, { method: "POST" }));
    const tickets = await waitForRest(env.deps, saleId);
    const purchased = tickets.filter((t) => t.status === "purchased");
    expect(purchased).toHaveLength(1);
    // The others were refused at settlement, and their phantom units left the stock.
    expect(tickets.filter((t) => t.status === "rejected" && t.reason === "sold_out")).toHaveLength(5);
    const report = await checkInvariants(env.deps, saleId);
    expect(report.violations).toEqual([]);
    expect(report).toMatchObject({ sold: 1, stock: 1, purchases: 1 });
  });
});
