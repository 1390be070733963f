import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";

// A user's purchases come a page at a time (issue 13): across many sales the list grows
// without bound, so one answer holds at most `limit` of them.

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ env: { LOG_LEVEL: "fatal", RATE_USER_PER_S: "0" } });
});
afterAll(async () => {
  await env?.close();
});

interface Page {
  purchases: { purchase_id: string; item_id: string }[];
  next_cursor: string | null;
}

describe("GET /users/{id}/purchases, paged", () => {
  it("pages through every purchase, oldest first, each once; the last page says so", async () => {
    const items = ["p1", "p2", "p3", "p4", "p5"];
    await env.createSale({ items: items.map((item_id) => ({ item_id, stock: 1 })) });
    for (const item of items) {
      const r = await env.json<{ status: string }>(`/checkout?user_id=pager&id=${item}&wait=10000`, {
        method: "POST",
      });
      expect(r.body.status).toBe("purchased");
    }
    const all = (await env.json<Page>("/users/pager/purchases")).body;
    expect(all.purchases.map((p) => p.item_id)).toEqual(items);
    expect(all.next_cursor).toBeNull();

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : "";
      const page: Page = (await env.json<Page>(`/users/pager/purchases?limit=2${q}`)).body;
      expect(page.purchases.length).toBeLessThanOrEqual(2);
      seen.push(...page.purchases.map((p) => p.purchase_id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(all.purchases.map((p) => p.purchase_id));
  });
});
