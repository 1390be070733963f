import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../shared/time.js";
import { crowd } from "../tools/harness/crowd.js";
import { createProcessEnv } from "../tools/harness/env.js";
import { checkInvariants, slotsAtRest, waitForRest } from "../tools/harness/invariants.js";

const ITEMS = 10_000;
const CLIENTS = 1_000;
const USER_LIMIT = 10;

let env: Awaited<ReturnType<typeof createProcessEnv>>;
beforeAll(async () => {
  // The system runs as its own processes: the crowd here must not starve it of CPU.
  env = await createProcessEnv({ env: { PAYMENT_SLOTS: "500" } });
});
afterAll(async () => {
  await env?.close();
});

type Page = { items: { item_id: string; stock: { available: number } }[]; next_cursor: string | null };

/**
 * What shoppers see: the items still available, each offered to two shoppers
 * at once so they compete for it. When the list runs dry it is read again
 * from the API, until nothing is left to sell.
 */
function shopWindow(saleId: string) {
  let list: string[] = [];
  let refilling: Promise<void> | null = null;
  let over = false;
  const refill = async () => {
    const fresh: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: Page } = await env.json<Page>(
        `/sales/${saleId}/items?limit=1000${cursor ? `&cursor=${cursor}` : ""}`,
      );
      for (const it of page.body.items) if (it.stock.available > 0) fresh.push(it.item_id, it.item_id);
      cursor = page.body.next_cursor;
    } while (cursor);
    list = fresh.sort(() => Math.random() - 0.5);
    if (list.length === 0) {
      const sale = await env.json<{ stock: { reserved: number } }>(`/sales/${saleId}`);
      if (sale.body.stock.reserved === 0) over = true;
      else await sleep(100);
    }
  };
  return {
    async next(): Promise<string | null> {
      for (;;) {
        if (over) return null;
        const item = list.pop();
        if (item) return item;
        refilling ??= refill().finally(() => {
          refilling = null;
        });
        await refilling;
      }
    },
    giveBack(item: string) {
      list.unshift(item);
    },
  };
}

describe("the hourly-sized sale", () => {
  it(`${ITEMS} items and ${CLIENTS} concurrent clients sell exactly ${ITEMS}, no user over ${USER_LIMIT}`, async () => {
    const saleId = await env.createSale({ items: ITEMS, stock_per_item: 1, user_limit: USER_LIMIT });
    const shop = shopWindow(saleId);
    let maxSeen = 0;
    await crowd(CLIENTS, CLIENTS, async (c) => {
      const user = `client${c}`;
      for (;;) {
        const item = await shop.next();
        if (item === null) return;
        const res = await env.request(`/checkout?user_id=${user}&id=${item}`, { method: "POST" });
        const body = (await res.json()) as { error?: { code: string } };
        if (res.status === 202 || body.error?.code === "sold_out") continue;
        shop.giveBack(item);
        if (body.error?.code !== "user_limit_reached") continue;
        // At the limit: done once all ten are bought; otherwise a ticket is still in line.
        const mine = await env.json<{ purchases: unknown[] }>(`/users/${user}/purchases?sale_id=${saleId}`);
        maxSeen = Math.max(maxSeen, mine.body.purchases.length);
        if (mine.body.purchases.length >= USER_LIMIT) return;
        await sleep(100);
      }
    });
    await waitForRest(env.deps, saleId, 60_000);
    const report = await checkInvariants(env.deps, saleId);
    expect(report.violations).toEqual([]);
    expect(report.sold).toBe(ITEMS);
    expect(report.purchases).toBe(ITEMS);
    expect(maxSeen).toBeLessThanOrEqual(USER_LIMIT);
    const perUser = await env.deps.db.client<{ n: number }[]>`
      select count(*)::int as n from purchases where sale_id = ${Number(saleId)} group by user_id`;
    expect(Math.max(...perUser.map((r) => r.n))).toBeLessThanOrEqual(USER_LIMIT);
    expect(await slotsAtRest(env.deps)).toMatchObject({ held: 0, inFlight: 0 });
  });
});
