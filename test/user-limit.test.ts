import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countBy, crowd } from "../tools/harness/crowd.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { checkInvariants, waitForRest } from "../tools/harness/invariants.js";

const USERS = 10;
const TRIES = 100;
const LIMIT = 10;

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => {
  await env?.close();
});

describe("the per-user limit", () => {
  it(`${USERS} users each trying ${TRIES} different items at once buy exactly ${LIMIT} each`, async () => {
    const saleId = await env.createSale({ items: USERS * TRIES, stock_per_item: 1, user_limit: LIMIT });
    const answers = await crowd(USERS * TRIES, USERS * TRIES, async (i) => {
      const user = `limited${i % USERS}`;
      const item = String(i + 1);
      const res = await env.json<{ error?: { code: string } }>(`/checkout?user_id=${user}&id=${item}`, {
        method: "POST",
      });
      return { user, status: res.status, code: res.body.error?.code ?? "" };
    });
    for (let u = 0; u < USERS; u++) {
      const mine = answers.filter((a) => a.user === `limited${u}`);
      // The limit counts tickets in line too, so the edge lets exactly LIMIT through per user.
      expect(countBy(mine, (a) => String(a.status))).toEqual({ "202": LIMIT, "429": TRIES - LIMIT });
      expect(mine.filter((a) => a.status === 429).every((a) => a.code === "user_limit_reached")).toBe(true);
    }
    await waitForRest(env.deps, saleId);
    const report = await checkInvariants(env.deps, saleId);
    expect(report.violations).toEqual([]);
    for (let u = 0; u < USERS; u++) {
      const p = await env.json<{ purchases: unknown[] }>(`/users/limited${u}/purchases?sale_id=${saleId}`);
      expect(p.body.purchases).toHaveLength(LIMIT);
    }
    // Holding the limit, a user is refused at the edge, with nothing queued.
    const again = await env.json<{ error: { code: string } }>("/checkout?user_id=limited0&id=999", {
      method: "POST",
    });
    expect(again.status).toBe(429);
    expect(again.body.error.code).toBe("user_limit_reached");
    expect(again.headers.get("retry-after")).toBeTruthy();
  });

  it("PostgreSQL refuses an 11th purchase for a user even if Redis were to allow it", async () => {
    const saleId = await env.createSale({ items: 20, stock_per_item: 1, user_limit: 2 });
    const sql = env.deps.db.client;
    const sid = Number(saleId);
    await sql`insert into purchases (ticket_id, sale_id, item_id, user_id) values
      (${`${saleId}-901`}, ${sid}, '1', 'pg-guard'), (${`${saleId}-902`}, ${sid}, '2', 'pg-guard')`;
    await sql`insert into sale_users (sale_id, user_id, purchased, user_limit) values (${sid}, 'pg-guard', 2, 2)`;
    await expect(
      sql`update sale_users set purchased = purchased + 1 where sale_id = ${sid} and user_id = 'pg-guard'`,
    ).rejects.toMatchObject({ constraint_name: "sale_users_within_limit" });
    await expect(
      sql`update items set sold = 2 where sale_id = ${sid} and item_id = '3'`,
    ).rejects.toMatchObject({
      constraint_name: "items_sold_within_stock",
    });
    await expect(
      sql`insert into purchases (ticket_id, sale_id, item_id, user_id) values (${`${saleId}-901`}, ${sid}, '4', 'x')`,
    ).rejects.toMatchObject({ constraint_name: "purchases_ticket_id_unique" });
  });
});
