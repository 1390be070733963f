import { Queue } from "bullmq";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  calendarSlotKey,
  closeEndedSales,
  ensureCalendarSale,
  hourlySlotKey,
  leadMs,
  tickCalendar,
} from "../scheduler/calendar.js";
import { tickPattern } from "../scheduler/start.js";
import { type Config, parseConfig } from "../shared/config.js";
import { runMigrations } from "../shared/db/migrate.js";
import { createDeps, type Deps } from "../shared/deps.js";
import { CALENDAR_QUEUE } from "../shared/queues.js";
import { createRedis } from "../shared/redis.js";
import { HOUR_MS, hourStart, periodStart } from "../shared/time.js";
import { createTestEnv, dropAll, type TestEnv, testConfig } from "../tools/harness/env.js";
import { envOf, type Role, startRole } from "../tools/harness/processes.js";

const MINUTE_MS = 60_000;
// A process gets this long after SIGTERM (shared/process.ts STOP_TIMEOUT_MS exits with 1 after it).
const STOP_BOUND_MS = 15_000;
// Two tsx processes starting on a busy two-core machine are slow.
const START_TIMEOUT_MS = 60_000;

/** The sale rows PostgreSQL holds for one calendar window. */
async function salesInSlot(deps: Deps, slotKey: string) {
  return deps.db.client<{ id: string; starts_at: number; ends_at: number; items: number; stock: number }[]>`
    select s.id::text,
           (extract(epoch from s.starts_at) * 1000)::float8 as starts_at,
           (extract(epoch from s.ends_at) * 1000)::float8 as ends_at,
           (select count(*)::int from items i where i.sale_id = s.id) as items,
           (select coalesce(sum(i.stock), 0)::int from items i where i.sale_id = s.id) as stock
    from sales s where s.slot_key = ${slotKey}`;
}

/** Sums every item hash of a sale in Redis. */
async function redisStock(deps: Deps, saleId: string) {
  const { redis, keys } = deps;
  const rows = await deps.db.client<{ item_id: string }[]>`
    select item_id from items where sale_id = ${Number(saleId)}`;
  const pipe = redis.pipeline();
  for (const r of rows) pipe.hmget(keys.item(saleId, r.item_id), "tot", "av", "rs", "sd");
  const res = (await pipe.exec()) ?? [];
  const sum = { items: 0, tot: 0, av: 0, rs: 0, sd: 0 };
  for (const [, v] of res) {
    const [tot, av, rs, sd] = v as (string | null)[];
    if (tot === null || tot === undefined) continue;
    sum.items++;
    sum.tot += Number(tot);
    sum.av += Number(av);
    sum.rs += Number(rs);
    sum.sd += Number(sd);
  }
  return sum;
}

async function saleHash(deps: Deps, saleId: string) {
  return deps.redis.hgetall(deps.keys.sale(saleId));
}

/** The `created` list a scheduler logged with "scheduler ready" (pino JSON lines). */
function createdAtStart(role: Role): string[] {
  const line = role
    .output()
    .split("\n")
    .find((l) => l.includes('"scheduler ready"'));
  if (!line) throw new Error(`no ready line in:\n${role.output()}`);
  return (JSON.parse(line) as { created: string[] }).created;
}

describe("two scheduler processes started at once", () => {
  let cfg: Config;
  let deps: Deps;
  let roles: Role[] = [];
  // The first tick of either scheduler ran after this instant, so this hour's sale must exist.
  let startedAt = 0;
  const SALE_ITEMS = 2000;

  beforeAll(async () => {
    cfg = testConfig({ SCHEDULER_HOURLY: "true", SALE_ITEMS: String(SALE_ITEMS) });
    await runMigrations(cfg.DATABASE_URL);
    deps = await createDeps(cfg, "test");
    startedAt = Date.now();
    const started = await Promise.allSettled(
      [1, 2].map(() => startRole("scheduler", envOf(cfg), /scheduler ready/, START_TIMEOUT_MS)),
    );
    roles = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
  }, START_TIMEOUT_MS + 30_000);

  afterAll(async () => {
    try {
      const stopped = await Promise.all(
        roles.map((r) => {
          const t = Date.now();
          return r.kill("SIGTERM").then((code) => ({ code, ms: Date.now() - t }));
        }),
      );
      for (const s of stopped) {
        expect(s.code).toBe(0);
        expect(s.ms).toBeLessThan(STOP_BOUND_MS);
      }
    } finally {
      await Promise.all(roles.map((r) => r.kill("SIGKILL")));
      if (deps) await dropAll(deps);
    }
  }, STOP_BOUND_MS + 15_000);

  it("create this hour's sale exactly once, with all its items", async () => {
    const rows = await salesInSlot(deps, hourlySlotKey(hourStart(startedAt)));
    expect(rows).toHaveLength(1);
    const sale = rows[0];
    expect(sale).toMatchObject({
      starts_at: hourStart(startedAt),
      ends_at: hourStart(startedAt) + HOUR_MS,
      items: SALE_ITEMS,
      stock: SALE_ITEMS * cfg.SALE_STOCK_PER_ITEM,
    });
    // One scheduler made it; the other found it made. (Near the top of the hour both
    // also saw the next hour's sale, which must likewise be made once.)
    const created = roles.flatMap(createdAtStart);
    expect(created.filter((id) => id === sale?.id)).toHaveLength(1);
    expect(new Set(created).size).toBe(created.length);
  });

  it("leave the sale open in Redis with the same stock as PostgreSQL", async () => {
    const [sale] = await salesInSlot(deps, hourlySlotKey(hourStart(startedAt)));
    const id = sale?.id as string;
    const h = await saleHash(deps, id);
    expect(h.st).toBe("open");
    expect(Number(h.sa)).toBe(hourStart(startedAt));
    expect(Number(h.ea)).toBe(hourStart(startedAt) + HOUR_MS);
    expect(Number(h.sa)).toBeLessThanOrEqual(startedAt);
    expect(Number(h.tot)).toBe(sale?.stock);
    expect(Number(h.av)).toBe(sale?.stock);
    expect(Number(h.n)).toBe(SALE_ITEMS);
    expect(await deps.redis.zscore(deps.keys.timeline, id)).toBe(h.sa);

    const items = await redisStock(deps, id);
    expect(items).toEqual({ items: SALE_ITEMS, tot: sale?.stock, av: sale?.stock, rs: 0, sd: 0 });
  });

  it("register the calendar's job scheduler once, ticking each minute in UTC", async () => {
    const connection = createRedis(cfg, { forWorker: true });
    const queue = new Queue(CALENDAR_QUEUE, { connection, prefix: deps.keys.bull });
    try {
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers).toHaveLength(1);
      expect(schedulers[0]).toMatchObject({ key: "sale-calendar", pattern: "0 * * * * *", tz: "UTC" });
      // Two upserts of one id leave one next tick pending, not two.
      const counts = await queue.getJobCounts("delayed", "waiting", "prioritized");
      expect((counts.delayed ?? 0) + (counts.waiting ?? 0) + (counts.prioritized ?? 0)).toBeLessThanOrEqual(
        1,
      );
    } finally {
      await queue.close();
      await connection.quit();
    }
  });
});

describe("calendar ticks in one process", () => {
  const SALE_ITEMS = 50;
  const STOCK = 2;
  const LEAD_S = 300;
  let env: TestEnv;

  // Each test gets its own stores: ticks at made-up times must not see another test's sales.
  beforeEach(async () => {
    env = await createTestEnv({
      env: {
        SCHEDULER_HOURLY: "true",
        SALE_ITEMS: String(SALE_ITEMS),
        SALE_STOCK_PER_ITEM: String(STOCK),
        SALE_LEAD_S: String(LEAD_S),
      },
      workers: 0,
    });
  });
  afterEach(async () => {
    await env?.close();
  });

  const tickFive = (now: number) => Promise.all([1, 2, 3, 4, 5].map(() => tickCalendar(env.deps, now)));

  it("five ticks at once create one sale for the current hour, open at once", async () => {
    // Ten minutes into this hour: far from the next hour's lead time.
    const hour = hourStart(Date.now());
    const results = await tickFive(hour + 10 * MINUTE_MS);

    const created = results.flatMap((r) => r.created);
    expect(created).toHaveLength(1);
    const rows = await salesInSlot(env.deps, hourlySlotKey(hour));
    expect(rows.map((r) => r.id)).toEqual(created);
    expect(rows[0]?.items).toBe(SALE_ITEMS);
    expect(await env.deps.db.client`select id from sales`).toHaveLength(1);
    expect(await redisStock(env.deps, created[0] as string)).toMatchObject({
      items: SALE_ITEMS,
      tot: SALE_ITEMS * STOCK,
      av: SALE_ITEMS * STOCK,
    });

    const current = await env.json<{ sale_id: string; status: string }>("/sales/current");
    expect(current.status).toBe(200);
    expect(current.body).toMatchObject({ sale_id: created[0], status: "open" });
  });

  it("within SALE_LEAD_S of the next hour, the next hour's sale is created once and stays scheduled", async () => {
    // An hour well in the future, so that by the real clock both sales are still to come.
    const hour = hourStart(Date.now()) + 3 * HOUR_MS;
    const next = hour + HOUR_MS;

    // Just before the lead time: only the hour's own sale.
    const early = await tickFive(next - LEAD_S * 1000 - 1000);
    expect(early.flatMap((r) => r.created)).toHaveLength(1);
    expect(await salesInSlot(env.deps, hourlySlotKey(next))).toHaveLength(0);

    // Inside the lead time: the next hour's sale, once.
    const late = await tickFive(next - 2 * MINUTE_MS);
    const created = late.flatMap((r) => r.created);
    expect(created).toHaveLength(1);
    const rows = await salesInSlot(env.deps, hourlySlotKey(next));
    expect(rows).toHaveLength(1);
    const sale = rows[0];
    expect(sale?.id).toBe(created[0]);
    expect(sale?.items).toBe(SALE_ITEMS);
    expect(sale?.starts_at).toBe(next);
    expect(new Date(sale?.starts_at ?? 0).toISOString()).toMatch(/T\d\d:00:00\.000Z$/);
    expect(sale?.ends_at).toBe(next + HOUR_MS);
    expect(await salesInSlot(env.deps, hourlySlotKey(hour))).toHaveLength(1);

    // Loaded ahead of its start, but not taking checkouts.
    const id = sale?.id as string;
    expect(Number((await saleHash(env.deps, id)).sa)).toBe(next);
    expect(await redisStock(env.deps, id)).toMatchObject({ items: SALE_ITEMS, tot: SALE_ITEMS * STOCK });
    const view = await env.json<{ status: string }>(`/sales/${id}`);
    expect(view.body.status).toBe("scheduled");
    const checkout = await env.json<{ error: { code: string } }>("/checkout?user_id=early-bird&id=1", {
      method: "POST",
    });
    expect(checkout.status).toBe(409);
    expect(checkout.body.error.code).toBe("sale_not_active");
    const after = await saleHash(env.deps, id);
    expect({ tseq: after.tseq, q: after.q, av: Number(after.av) }).toEqual({
      tseq: "0",
      q: "0",
      av: SALE_ITEMS * STOCK,
    });
  });

  it("a tick after a sale's hour closes it, and a day later it leaves the timeline", async () => {
    const past = hourStart(Date.now()) - 2 * HOUR_MS;
    const first = await tickCalendar(env.deps, past + 10 * MINUTE_MS);
    const [id] = first.created;
    expect(id).toBeDefined();
    expect((await saleHash(env.deps, id as string)).st).toBe("open");

    expect(await closeEndedSales(env.deps, past + HOUR_MS - 1)).toEqual([]);
    const tick = await tickCalendar(env.deps, past + HOUR_MS + MINUTE_MS);
    expect(tick.closed).toEqual([id]);
    expect((await saleHash(env.deps, id as string)).st).toBe("closed");
    // Closing is done once; the next tick has nothing to close.
    expect(await closeEndedSales(env.deps, past + HOUR_MS + 2 * MINUTE_MS)).toEqual([]);

    const view = await env.json<{ status: string }>(`/sales/${id}`);
    expect(view.body.status).toBe("closed");
    expect(await env.deps.redis.zscore(env.deps.keys.timeline, id as string)).not.toBeNull();

    await closeEndedSales(env.deps, past + HOUR_MS + 24 * HOUR_MS + 1);
    expect(await env.deps.redis.zscore(env.deps.keys.timeline, id as string)).toBeNull();
  });

  it("ensureCalendarSale twice for one window returns the same sale", async () => {
    const hour = hourStart(Date.now()) + 5 * HOUR_MS;
    const [a, b] = await Promise.all([
      ensureCalendarSale(env.deps, hour),
      ensureCalendarSale(env.deps, hour),
    ]);
    expect(a.saleId).toBe(b.saleId);
    expect([a.created, b.created].sort()).toEqual([false, true]);
  });
});

describe("the calendar's period (SALE_PERIOD_S)", () => {
  it("defaults to an hour; under a second is refused", () => {
    expect(testConfig().SALE_PERIOD_S).toBe(3600);
    expect(() => parseConfig({ SALE_PERIOD_S: "0" })).toThrow(/SALE_PERIOD_S must be an integer from 1 /);
  });

  it("an hour keeps the slot keys databases hold and the tick each minute; other periods name themselves", () => {
    const at = Date.UTC(2026, 10, 22, 10);
    expect(hourlySlotKey(at)).toBe("hourly:2026-11-22T10");
    expect(calendarSlotKey(at, 3600)).toBe("hourly:2026-11-22T10");
    expect(calendarSlotKey(at + 1000, 1)).toBe("every-1s:2026-11-22T10:00:01.000Z");
    expect(calendarSlotKey(at, 7200)).toBe("every-7200s:2026-11-22T10:00:00.000Z");
    expect(tickPattern(3600)).toBe("0 * * * * *");
    expect(tickPattern(120)).toBe("0 * * * * *");
    // A period start off the minute must still get its tick.
    expect(tickPattern(90)).toBe("* * * * * *");
    expect(tickPattern(1)).toBe("* * * * * *");
  });

  it("a lead longer than the period counts as the period", () => {
    expect(leadMs({ SALE_LEAD_S: 300, SALE_PERIOD_S: 3600 })).toBe(300_000);
    expect(leadMs({ SALE_LEAD_S: 300, SALE_PERIOD_S: 1 })).toBe(1000);
    expect(leadMs({ SALE_LEAD_S: 0, SALE_PERIOD_S: 1 })).toBe(0);
  });

  describe("of one second", () => {
    const SALE_ITEMS = 5;
    let env: TestEnv;
    beforeAll(async () => {
      env = await createTestEnv({
        env: {
          SCHEDULER_HOURLY: "true",
          SALE_PERIOD_S: "1",
          SALE_LEAD_S: "0",
          SALE_ITEMS: String(SALE_ITEMS),
        },
        workers: 0,
      });
    });
    afterAll(async () => {
      await env?.close();
    });

    const salesFrom = (from: number) => env.deps.db.client<
      { id: string; slot_key: string; starts_at: number; ends_at: number; items: number }[]
    >`
      select s.id::text, s.slot_key,
             (extract(epoch from s.starts_at) * 1000)::float8 as starts_at,
             (extract(epoch from s.ends_at) * 1000)::float8 as ends_at,
             (select count(*)::int from items i where i.sale_id = s.id) as items
      from sales s where s.starts_at >= ${new Date(from).toISOString()}::timestamptz order by s.starts_at`;

    it("ticks through ten seconds make one sale a second, back to back", async () => {
      // Hours ahead, so by the real clock none of them has started.
      const base = periodStart(Date.now(), 1000) + 2 * HOUR_MS;
      const created: string[] = [];
      for (let i = 0; i < 10; i++) {
        for (const at of [100, 500, 999]) {
          const ticks = await Promise.all([1, 2, 3].map(() => tickCalendar(env.deps, base + i * 1000 + at)));
          created.push(...ticks.flatMap((t) => t.created));
        }
      }
      const rows = await salesFrom(base);
      expect(rows).toHaveLength(10);
      expect(rows.map((r) => r.id).sort()).toEqual([...created].sort());
      rows.forEach((r, i) => {
        expect(r).toMatchObject({
          slot_key: calendarSlotKey(base + i * 1000, 1),
          starts_at: base + i * 1000,
          ends_at: base + (i + 1) * 1000,
          items: SALE_ITEMS,
        });
        // Each ends as the next starts: no gap, no overlap.
        const next = rows[i + 1];
        if (next) expect(next.starts_at).toBe(r.ends_at);
      });
      const h = await saleHash(env.deps, rows[0]?.id as string);
      expect([Number(h.sa), Number(h.ea)]).toEqual([base, base + 1000]);
    });

    it("with the lead clamped to the period, each tick has the next sale made", async () => {
      const base = periodStart(Date.now(), 1000) + 3 * HOUR_MS;
      const deps = { ...env.deps, cfg: { ...env.deps.cfg, SALE_LEAD_S: 300 } };
      expect((await tickCalendar(deps, base + 100)).created).toHaveLength(2);
      expect((await tickCalendar(deps, base + 900)).created).toHaveLength(0);
      expect((await tickCalendar(deps, base + 1100)).created).toHaveLength(1);
      const rows = await salesFrom(base);
      expect(rows.map((r) => r.starts_at)).toEqual([base, base + 1000, base + 2000]);
    });
  });
});
