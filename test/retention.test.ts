import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeEndedSales } from "../scheduler/calendar.js";
import { startScheduler } from "../scheduler/start.js";
import type { Deps } from "../shared/deps.js";
import { scanKeys } from "../shared/redis.js";
import { pruneAttempts } from "../shared/sale/retire.js";
import { sleep } from "../shared/time.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { checkInvariants } from "../tools/harness/invariants.js";

// Redis stays flat across sales (issue 13): a sale's keys leave Redis once it has ended
// (SALE_RETENTION_S ago) and every ticket is final; its reads come from PostgreSQL.
// The real scheduler runs a calendar of one-second sales (SALE_PERIOD_S=1), so 48 sales
// run in about a minute.

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ env: { LOG_LEVEL: "fatal", SALE_RETENTION_S: "1", RATE_USER_PER_S: "0" } });
});
afterAll(async () => {
  await env?.close();
});

interface OwnKey {
  key: string;
  bytes: number;
}

/** This suite's own keys in Redis (its prefix and its queues'), each with its bytes (MEMORY USAGE). */
async function ownKeys(deps: Deps): Promise<OwnKey[]> {
  const found: OwnKey[] = [];
  for (const pattern of [`${deps.keys.prefix}:*`, `${deps.keys.bull}*`]) {
    for await (const keys of scanKeys(deps.redis, pattern)) {
      // BullMQ's events streams are bounded on their own (about 100 entries, trimmed in blocks): checked apart.
      const sizes = await Promise.all(
        keys.map((key) => (key.endsWith(":events") ? 0 : deps.redis.memory("USAGE", key))),
      );
      keys.forEach((key, i) => {
        found.push({ key, bytes: Number(sizes[i] ?? 0) });
      });
    }
  }
  return found;
}

const footprint = (keys: OwnKey[]) => ({
  count: keys.length,
  bytes: keys.reduce((sum, k) => sum + k.bytes, 0),
});

const usedMemory = async (deps: Deps) =>
  (await deps.redis.info("memory")).match(/used_memory:(\d+)/)?.[1] ?? "?";

describe("retention", () => {
  it("a sale with a ticket not final stays in Redis past its retention", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "busy", stock: 1 }] });
    await env.setPayments({ hang_rate: 1, timeout_ms: 3000 });
    try {
      await env.json("/checkout?user_id=hang&id=busy", { method: "POST" });
      await new Promise((r) => setTimeout(r, 300));
      await closeEndedSales(env.deps, Date.now() + 3600_000 + 5000);
      expect(await env.deps.redis.zscore(env.deps.keys.timeline, saleId)).not.toBeNull();
      expect(await env.deps.redis.exists(env.deps.keys.sale(saleId))).toBe(1);
    } finally {
      await env.setPayments({ hang_rate: 0 });
    }
  });

  it("checkout attempts older than their retention are pruned; refusals of unknown items are not written", async () => {
    const sql = env.deps.db.client;
    await sql`insert into checkout_attempts (sale_id, item_id, user_id, ticket_id, outcome, created_at)
              values (null, 'x', 'old', null, 'sold_out', now() - interval '30 days')`;
    for (let i = 0; i < 50; i++)
      await env.request(`/checkout?user_id=f${i}&id=no-such-item-${i}`, { method: "POST" });
    await env.api.ctx.attempts.drain();
    const [unknown] = await sql<
      { n: string }[]
    >`select count(*)::text as n from checkout_attempts where outcome = 'item_not_found'`;
    expect(unknown?.n).toBe("0");
    expect(await pruneAttempts(env.deps, 7)).toBe(1);
    const [old] = await sql<
      { n: string }[]
    >`select count(*)::text as n from checkout_attempts where user_id = 'old'`;
    expect(old?.n).toBe("0");
  });
});

describe("Redis across many sales", () => {
  const SALES = 48;
  const ITEMS = 50;
  const PER_SALE = 5;
  // A sale that has not shown up this long after the one before is lost, not late.
  const NEXT_SALE_TIMEOUT_MS = 10_000;
  // The calendar keeps this many finished ticks (shared/queues.ts calendarQueueOptions).
  const KEPT_TICKS = 100;

  /** The sale a key belongs to (its `{s<id>}` tag), or null for keys of no one sale. */
  const saleOf = (deps: Deps, key: string) => {
    const tag = `${deps.keys.prefix}:{s`;
    return key.startsWith(tag) ? key.slice(tag.length, key.indexOf("}", tag.length)) : null;
  };

  /**
   * This suite's keys sorted out: those of sales still listed (selling, or ended less than
   * SALE_RETENTION_S ago) or newer (being created), the calendar queue's (its kept ticks
   * are bounded by their own retention, checked apart), and the rest, which is what the
   * sales so far left behind. A sale caught half-way out of Redis is waited for.
   */
  async function sortKeys(deps: Deps) {
    const { redis, keys } = deps;
    for (let attempt = 1; ; attempt++) {
      const before = await redis.zrange(keys.timeline, 0, -1);
      const all = await ownKeys(deps);
      const listed = new Set([...before, ...(await redis.zrange(keys.timeline, 0, -1))]);
      const newest = Math.max(0, ...[...listed].map(Number));
      const live = (sale: string) => listed.has(sale) || Number(sale) > newest;
      const calendar = all.filter((k) => k.key.startsWith(`${keys.bull}:calendar:`));
      const sales = new Set<string>();
      const rest: OwnKey[] = [];
      for (const k of all) {
        const sale = saleOf(deps, k.key);
        if (sale !== null && live(sale)) sales.add(sale);
        else if (!calendar.includes(k)) rest.push(k);
      }
      const leaving = rest.some((k) => saleOf(deps, k.key) !== null);
      if (!leaving || attempt === 20) return { all, sales, calendar, rest };
      await sleep(50);
    }
  }

  /** Waits for a sale newer than `after` that is open by now, and returns its id. */
  async function nextOpenSale(deps: Deps, after: number): Promise<string> {
    // Straight from Redis: GET /sales/current answers from a directory cached for up to a
    // second in each API process, here a whole sale.
    const { redis, keys } = deps;
    const until = Date.now() + NEXT_SALE_TIMEOUT_MS;
    while (Date.now() < until) {
      const [id] = await redis.zrevrangebyscore(keys.timeline, Date.now(), "-inf", "LIMIT", 0, 1);
      if (id && Number(id) > after && Number(await redis.hget(keys.sale(id), "ea")) > Date.now()) return id;
      await sleep(10);
    }
    throw new Error(`no sale after ${after} opened within ${NEXT_SALE_TIMEOUT_MS} ms`);
  }

  interface Answer {
    status: number;
    body: { ticket_id?: string; status?: string; reason?: string | null; error?: { code: string } };
  }

  /**
   * Round `n`'s shoppers each check out one item and wait for the outcome. A refusal as
   * not active while the sale is open by the clock is an API process that has not seen
   * the sale yet (its directory is cached for a moment): asked again. Items turn with the
   * round, so a checkout that lands in the next sale takes none of the next round's.
   */
  async function buy(cur: TestEnv, saleId: string, n: number): Promise<Answer[]> {
    const endsAt = Number(await cur.deps.redis.hget(cur.deps.keys.sale(saleId), "ea"));
    return Promise.all(
      Array.from({ length: PER_SALE }, async (_, i) => {
        const item = ((n * PER_SALE + i) % ITEMS) + 1;
        for (;;) {
          const r: Answer = await cur.json(`/checkout?user_id=c${n}u${i}&id=${item}&wait=10000`, {
            method: "POST",
          });
          if (r.status !== 409 || r.body.error?.code !== "sale_not_active" || Date.now() >= endsAt) return r;
          await sleep(10);
        }
      }),
    );
  }

  it("48 sales the scheduler makes, a second each, bought from over HTTP: what they leave in Redis stays flat; ended ones read from PostgreSQL", async () => {
    const cal = await createTestEnv({
      env: {
        LOG_LEVEL: "fatal",
        SCHEDULER_HOURLY: "true",
        SALE_PERIOD_S: "1",
        SALE_LEAD_S: "0",
        SALE_ITEMS: String(ITEMS),
        SALE_RETENTION_S: "1",
        RATE_USER_PER_S: "0",
        // The dashboard's history of completed jobs is capped by count: a few, so it is
        // full by the fifth sale and the count below stays flat after it.
        JOB_HISTORY: "3",
      },
    });
    const { redis, keys } = cal.deps;
    try {
      const rounds: { saleId: string; answers: Answer[] }[] = [];
      const samples: Awaited<ReturnType<typeof sortKeys>>[] = [];
      const scheduler = await startScheduler(cal.deps);
      try {
        let after = 0;
        while (rounds.length < SALES) {
          const saleId = await nextOpenSale(cal.deps, after);
          after = Number(saleId);
          rounds.push({ saleId, answers: await buy(cal, saleId, rounds.length) });
          samples.push(await sortKeys(cal.deps));
        }
      } finally {
        await scheduler.close();
      }

      // Every checkout bought its unit, or came as its sale ended and was turned away.
      const purchased = new Map<string, string[]>();
      for (const { answers } of rounds) {
        for (const a of answers) {
          const late = a.body.error?.code === "sale_not_active" || a.body.reason === "sale_not_active";
          expect(a.body.status === "purchased" || late, JSON.stringify(a)).toBe(true);
          const ticket = a.body.ticket_id;
          if (a.body.status !== "purchased" || !ticket) continue;
          const sale = ticket.slice(0, ticket.indexOf("-"));
          purchased.set(sale, [...(purchased.get(sale) ?? []), ticket]);
        }
      }
      const full = rounds.filter((r) => purchased.get(r.saleId)?.length === PER_SALE).length;
      console.info(
        `calendar: ${rounds.length} sales bought from (${full} with all ${PER_SALE} units); own keys after each ` +
          `(all / left behind / sales held / calendar): ${samples.map((x) => `${x.all.length}/${x.rest.length}/${x.sales.size}/${x.calendar.length}`).join(" ")}; ` +
          `Redis used_memory ${await usedMemory(cal.deps)}`,
      );
      // Timing on a busy machine may cost a sale a unit or two, not the run.
      expect(full).toBeGreaterThanOrEqual(SALES / 2);

      // Flat after the first few: the last sale leaves behind as much as the fifth...
      const fifth = footprint(samples[4]?.rest ?? []);
      const last = footprint(samples.at(-1)?.rest ?? []);
      expect(last.count).toBeLessThanOrEqual(fifth.count + 5);
      expect(last.bytes).toBeLessThanOrEqual(fifth.bytes * 1.1 + 2048);
      // ... Redis holds only the sales of the moment (selling, just ended, being made or
      // leaving), each with no more keys than its items and tickets need ...
      for (const x of samples) {
        expect(x.sales.size).toBeLessThanOrEqual(4);
        expect(x.all.length - x.rest.length - x.calendar.length).toBeLessThanOrEqual(
          x.sales.size * (2 * ITEMS + 20),
        );
      }
      // ... and the calendar's queue keeps a bounded number of finished ticks.
      const calendarJobs = (s: (typeof samples)[number]) =>
        s.calendar.filter((k) => /:repeat:sale-calendar:\d+$/.test(k.key)).length;
      for (const x of samples) expect(calendarJobs(x)).toBeLessThanOrEqual(2 * KEPT_TICKS + 2);

      // Once the calendar stops, its last sales end and leave too.
      const until = Date.now() + 10_000;
      while ((await redis.zcard(keys.timeline)) > 0 && Date.now() < until) {
        await closeEndedSales(cal.deps, Date.now());
        await sleep(100);
      }
      expect(await redis.zcard(keys.timeline)).toBe(0);
      expect(await redis.xlen(`${keys.bull}:checkout:events`)).toBeLessThanOrEqual(300);
      // Then nothing of any sale is left: what remains is what the fifth sale left behind.
      const drained = footprint(
        (await ownKeys(cal.deps)).filter((k) => !k.key.startsWith(`${keys.bull}:calendar:`)),
      );
      expect(drained.count).toBeLessThanOrEqual(fifth.count + 5);
      expect(drained.bytes).toBeLessThanOrEqual(fifth.bytes * 1.1 + 2048);

      // The calendar made them a second each, on the second, never two at once.
      const made = await cal.deps.db.client<
        { id: string; slot_key: string; starts_at: number; ends_at: number }[]
      >`
        select id::text, slot_key,
               (extract(epoch from starts_at) * 1000)::float8 as starts_at,
               (extract(epoch from ends_at) * 1000)::float8 as ends_at
        from sales where kind = 'hourly' order by starts_at`;
      expect(made.length).toBeGreaterThanOrEqual(SALES);
      for (const [i, s] of made.entries()) {
        expect(s.ends_at - s.starts_at).toBe(1000);
        expect(s.starts_at % 1000).toBe(0);
        expect(s.slot_key).toBe(`every-1s:${new Date(s.starts_at).toISOString()}`);
        const next = made[i + 1];
        if (next) expect(next.starts_at).toBeGreaterThanOrEqual(s.ends_at);
      }
      for (const r of rounds) expect(made.map((s) => s.id)).toContain(r.saleId);

      // Every sale bought from has left Redis; its stock, tickets and audit come from PostgreSQL.
      for (const [sale, tickets] of purchased) {
        expect(await redis.exists(keys.sale(sale))).toBe(0);
        const view = await cal.json<{ stock: { sold: number; total: number } }>(`/sales/${sale}`);
        expect(view.status).toBe(200);
        expect(view.body.stock).toMatchObject({ sold: tickets.length, total: ITEMS });
        const read = await Promise.all(tickets.map((t) => cal.json<{ status: string }>(`/tickets/${t}`)));
        expect(read.map((t) => t.body.status)).toEqual(tickets.map(() => "purchased"));
        const report = await checkInvariants(cal.deps, sale);
        expect(report.violations).toEqual([]);
        expect(report.purchases).toBe(tickets.length);
      }
    } finally {
      await cal.close();
    }
  });
});
