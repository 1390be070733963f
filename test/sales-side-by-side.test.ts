import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tickCalendar } from "../scheduler/calendar.js";
import { runMigrations } from "../shared/db/migrate.js";
import { createDeps } from "../shared/deps.js";
import { createLogger } from "../shared/logger.js";
import { createSale } from "../shared/sale/create.js";
import { createSaleDirectory } from "../shared/sale/directory.js";
import { retireSale } from "../shared/sale/retire.js";
import { HOUR_MS, hourStart, sleep } from "../shared/time.js";
import { createTestEnv, dropAll, type TestEnv, testConfig } from "../tools/harness/env.js";
import { untilFinal } from "./helpers/shopper.js";

// Several sales open at once (issue 15): generated sales all number their items 1..N, so an
// item id may be on sale in more than one. A checkout names its sale, or gets the one open
// sale that has the item, or is refused as ambiguous: never bought in a sale at a guess.

interface Answer {
  ticket_id?: string;
  sale_id?: string;
  status?: string;
  error?: { code: string; message: string };
}
interface SaleBody {
  sale_id: string;
  status: string;
  stock: { total: number; available: number; reserved: number; sold: number };
}

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => {
  await env?.close();
});

const checkout = (query: string, headers: Record<string, string> = {}) =>
  env.json<Answer>(`/checkout?${query}`, { method: "POST", headers });

describe("an item id open in two sales", () => {
  it("is bought in the sale named, and without one is refused as ambiguous, naming both (the issue's gina case)", async () => {
    const first = await env.createSale({ items: 3, stock_per_item: 1 });
    const fourth = await env.createSale({ items: 3, stock_per_item: 1 });

    const ann = await checkout(`user_id=ann&id=2&sale_id=${first}&wait=5000`);
    expect(ann.status).toBe(202);
    expect(ann.body.ticket_id?.startsWith(`${first}-`)).toBe(true);
    expect((await untilFinal(env, ann.body.ticket_id as string)).status).toBe("purchased");
    expect((await checkout(`user_id=gina&id=2&sale_id=${first}`)).body.error?.code).toBe("sold_out");

    // Before: this bought item 2 of the other sale without a word.
    const gina = await checkout("user_id=gina&id=2");
    expect(gina.status).toBe(409);
    expect(gina.body.error?.code).toBe("sale_ambiguous");
    expect(gina.body.error?.message).toContain(`${fourth}, ${first}`);
    // Nothing of gina's was admitted anywhere.
    const { redis, keys } = env.deps;
    for (const s of [first, fourth]) expect(await redis.hget(keys.pending(s), "gina")).toBeNull();

    const chosen = await checkout(`user_id=gina&id=2&sale_id=${fourth}`);
    expect(chosen.status).toBe(202);
    expect(chosen.body.ticket_id?.startsWith(`${fourth}-`)).toBe(true);

    // The JSON form names it in the body (a number is taken as its decimal).
    const hal = await env.json<Answer>("/checkout", {
      method: "POST",
      json: { user_id: "hal", item_id: 3, sale_id: Number(first) },
    });
    expect(hal.status).toBe(202);
    expect(hal.body.ticket_id?.startsWith(`${first}-`)).toBe(true);

    // An item is shown the same way.
    const item = await env.json<Answer>("/items/2");
    expect([item.status, item.body.error?.code]).toEqual([409, "sale_ambiguous"]);
    const inFirst = await env.json<Answer & SaleBody>(`/items/2?sale_id=${first}`);
    expect(inFirst.status).toBe(200);
    expect(inFirst.body).toMatchObject({ sale_id: first, stock: { sold: 1, available: 0 } });
    expect((await env.json<Answer>(`/items/2?sale_id=${fourth}`)).body.sale_id).toBe(fourth);
    expect((await env.json<Answer>("/items/2?sale_id=987654")).status).toBe(404);
  });

  it("answers for the sale named: an item it lacks is 404, a sale not open is 409; an item in one open sale needs no sale_id", async () => {
    const open = await env.createSale({ items: [{ item_id: "only-here", stock: 2 }] });
    const later = await env.createSale({ items: [{ item_id: "later", stock: 1 }], starts_in_s: 3600 });
    const code = async (q: string) => {
      const r = await checkout(q);
      return [r.status, r.body.error?.code];
    };
    expect(await code(`user_id=u&id=only-here&sale_id=${later}`)).toEqual([404, "item_not_found"]);
    expect(await code(`user_id=u&id=later&sale_id=${later}`)).toEqual([409, "sale_not_active"]);
    expect(await code("user_id=u&id=only-here&sale_id=987654")).toEqual([404, "item_not_found"]);
    expect(await code("user_id=u&id=only-here&sale_id=01")).toEqual([400, "invalid_request"]);
    // Selling by the record but not in Redis (being loaded, or restored after a loss): try again shortly.
    const { redis, keys } = env.deps;
    await redis.rename(keys.sale(open), `${keys.sale(open)}:aside`);
    try {
      const r = await checkout(`user_id=u&id=only-here&sale_id=${open}`);
      expect([r.status, r.body.error?.code, r.headers.get("retry-after")]).toEqual([503, "unavailable", "1"]);
    } finally {
      await redis.rename(`${keys.sale(open)}:aside`, keys.sale(open));
    }
    const plain = await checkout("user_id=u&id=only-here");
    expect(plain.status).toBe(202);
    expect(plain.body.ticket_id?.startsWith(`${open}-`)).toBe(true);
  });

  it("refuses an item sold out in one sale from memory without refusing it in the other", async () => {
    const a = await env.createSale({ items: [{ item_id: "memo", stock: 1 }] });
    const b = await env.createSale({ items: [{ item_id: "memo", stock: 1 }] });
    const bought = await checkout(`user_id=m1&id=memo&sale_id=${a}&wait=5000`);
    expect((await untilFinal(env, bought.body.ticket_id as string)).status).toBe("purchased");
    expect((await checkout(`user_id=m2&id=memo&sale_id=${a}`)).body.error?.code).toBe("sold_out");
    expect((await checkout(`user_id=m2&id=memo&sale_id=${a}`)).body.error?.code).toBe("sold_out");
    expect((await checkout(`user_id=m2&id=memo&sale_id=${b}`)).status).toBe(202);
  });

  it("replays an Idempotency-Key to the same ticket, with or without the sale", async () => {
    await env.createSale({ items: [{ item_id: "K", stock: 5 }] });
    const second = await env.createSale({ items: [{ item_id: "K", stock: 5 }] });
    const key = { "idempotency-key": "gina-1" };
    const made = await checkout(`user_id=gina&id=K&sale_id=${second}`, key);
    expect(made.status).toBe(202);
    expect((await checkout(`user_id=gina&id=K&sale_id=${second}`, key)).body.ticket_id).toBe(
      made.body.ticket_id,
    );
    // Only one of the two sales knows the key: the replay needs no sale_id.
    expect((await checkout("user_id=gina&id=K", key)).body.ticket_id).toBe(made.body.ticket_id);
    const fresh = await checkout("user_id=gina&id=K", { "idempotency-key": "gina-2" });
    expect(fresh.body.error?.code).toBe("sale_ambiguous");
  });
});

describe("the sale directory", () => {
  it("knows which open sales have an item from memory once their ids are read, numbered or listed", async () => {
    const numbered = await env.createSale({ items: 50, stock_per_item: 1 });
    const listed = await env.createSale({
      items: [
        { item_id: "mem-a", stock: 1 },
        { item_id: "7", stock: 1 },
      ],
    });
    const directory = createSaleDirectory(env.deps);
    const mine = (await directory.open()).filter((s) => [numbered, listed].includes(s.saleId));
    const ids = async (item: string) => (await directory.withItem(mine, item)).map((s) => s.saleId).sort();
    // The ids are read in the background; until then Redis is asked, with the same answers.
    expect(await ids("7")).toEqual([numbered, listed].sort());
    await sleep(500);
    // Gone from Redis, still known: the answer comes from memory, with no round trip.
    const { redis, keys } = env.deps;
    await redis.rename(keys.item(listed, "mem-a"), `${keys.item(listed, "mem-a")}:aside`);
    try {
      expect(await ids("mem-a")).toEqual([listed]);
      expect(await ids("7")).toEqual([numbered, listed].sort());
      expect(await ids("50")).toEqual([numbered]);
      expect(await ids("51")).toEqual([]);
      expect(await ids("07")).toEqual([]);
    } finally {
      await redis.rename(`${keys.item(listed, "mem-a")}:aside`, keys.item(listed, "mem-a"));
    }
  });
});

describe("GET /sales", () => {
  it("pages through every sale newest first, open ones by status, and lists a sale retired from Redis from PostgreSQL", async () => {
    const upcoming = await env.createSale({ items: 1, stock_per_item: 1, starts_in_s: 3600 });
    const { saleId: past } = await createSale(env.deps, {
      slotKey: "ended-yesterday",
      kind: "adhoc",
      startsAt: new Date(Date.now() - 26 * HOUR_MS),
      endsAt: new Date(Date.now() - 25 * HOUR_MS),
      userLimit: 1,
      items: [{ itemId: "old", name: "Old", imageUrl: "", stock: 4 }],
    });
    expect(await retireSale(env.deps, past)).toBe(true);
    expect(await env.deps.redis.exists(env.deps.keys.sale(past))).toBe(0);
    const late = await checkout(`user_id=u&id=old&sale_id=${past}`);
    expect([late.status, late.body.error?.code]).toEqual([409, "sale_not_active"]);

    const listed: SaleBody[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const page: { status: number; body: { sales: SaleBody[]; next_cursor: string | null } } =
        await env.json(`/sales?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.status).toBe(200);
      expect(page.body.sales.length).toBeLessThanOrEqual(2);
      listed.push(...page.body.sales);
      cursor = page.body.next_cursor;
    }
    const rows = await env.deps.db.client<
      { id: string }[]
    >`select id::text from sales order by sales.id desc`;
    expect(listed.map((s) => s.sale_id)).toEqual(rows.map((r) => r.id));
    expect(listed.find((s) => s.sale_id === past)).toMatchObject({
      status: "closed",
      stock: { total: 4, available: 4, reserved: 0, sold: 0 },
    });
    expect(listed.find((s) => s.sale_id === upcoming)?.status).toBe("scheduled");

    const open = await env.json<{ sales: SaleBody[] }>("/sales?status=open&limit=100");
    expect(open.body.sales.length).toBeGreaterThan(1);
    expect(open.body.sales.every((s) => s.status === "open")).toBe(true);
    expect(
      (await env.json<{ sales: SaleBody[] }>("/sales?status=closed")).body.sales.map((s) => s.sale_id),
    ).toEqual([past]);
    expect((await env.json("/sales?limit=101")).status).toBe(400);
    expect((await env.json("/sales?status=gone")).status).toBe(400);
  });
});

describe("a sale's items", () => {
  it("are listed in natural order (1, 2, 10, 100; A2 before A10), page by page", async () => {
    const ids = ["100", "b", "A10", "2", "10", "A2", "1", "A"];
    const saleId = await env.createSale({ items: ids.map((item_id) => ({ item_id, stock: 1 })) });
    const seen: string[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const page: { body: { items: { item_id: string }[]; next_cursor: string | null } } = await env.json(
        `/sales/${saleId}/items?limit=3${cursor ? `&cursor=${cursor}` : ""}`,
      );
      seen.push(...page.body.items.map((i) => i.item_id));
      cursor = page.body.next_cursor;
    }
    expect(seen).toEqual(["1", "2", "10", "100", "A", "A2", "A10", "b"]);
  });
});

describe("/stats and /metrics per sale", () => {
  it("report every open sale, and one sale when asked", async () => {
    const a = await env.createSale({ items: [{ item_id: "st", stock: 3 }] });
    const b = await env.createSale({ items: [{ item_id: "st", stock: 5 }] });
    const ticket = await checkout(`user_id=s1&id=st&sale_id=${a}&wait=5000`);
    await untilFinal(env, ticket.body.ticket_id as string);

    interface Stats {
      sale: SaleBody | null;
      throughput: unknown;
      sales: { sale: SaleBody; throughput: { purchases_per_s: number } }[];
    }
    const all = await env.json<Stats>("/stats");
    expect(all.status).toBe(200);
    const ids = all.body.sales.map((s) => s.sale.sale_id);
    expect(ids).toEqual(expect.arrayContaining([a, b]));
    expect(ids.indexOf(b)).toBeLessThan(ids.indexOf(a));
    // Today's readers keep their fields: the current (newest open) sale.
    expect(all.body.sale?.sale_id).toBe(ids[0]);

    const one = await env.json<Stats>(`/stats?sale_id=${a}`);
    expect(one.body.sale).toMatchObject({ sale_id: a, stock: { sold: 1, total: 3 } });
    expect(one.body.sales.map((s) => s.sale.sale_id)).toEqual([a]);
    expect((await env.json(`/stats?sale_id=987654`)).status).toBe(404);
    expect((await env.json(`/stats?sale_id=x`)).status).toBe(400);

    const metrics = await (await env.request("/metrics")).text();
    expect(metrics).toContain(`flashsale_sale_stock_units{sale_id="${a}",state="sold"} 1`);
    expect(metrics).toContain(`flashsale_sale_stock_units{sale_id="${b}",state="available"} 5`);
  });
});

describe("sale ids", () => {
  it("come without gaps across repeated and concurrent scheduler ticks", async () => {
    const cfg = testConfig({ SCHEDULER_HOURLY: "true", SALE_ITEMS: "3", SALE_STOCK_PER_ITEM: "1" });
    await runMigrations(cfg.DATABASE_URL);
    const deps = await createDeps(cfg, "test", createLogger("test", cfg));
    try {
      const base = hourStart(Date.now()) - 12 * HOUR_MS;
      // Each hour: ticks mid-hour (the hour's sale) and near its end (the next one, ahead),
      // three schedulers at once, with an ad-hoc sale made in between.
      for (let h = 0; h < 5; h++) {
        for (const minute of [10, 30, 57]) {
          const now = base + h * HOUR_MS + minute * 60_000;
          await Promise.all([1, 2, 3].map(() => tickCalendar(deps, now)));
        }
        await createSale(deps, {
          slotKey: `adhoc-${h}`,
          kind: "adhoc",
          startsAt: new Date(),
          endsAt: new Date(Date.now() + HOUR_MS),
          userLimit: 1,
          items: [{ itemId: "x", name: "x", imageUrl: "", stock: 1 }],
        });
      }
      const rows = await deps.db.client<{ id: string }[]>`select id::text from sales order by sales.id`;
      // Hours 0..5 (hour 4's last ticks made hour 5's), and five ad-hoc sales.
      expect(rows.length).toBe(11);
      expect(rows.map((r) => Number(r.id))).toEqual(rows.map((_, i) => i + 1));
    } finally {
      await dropAll(deps);
    }
  });
});
