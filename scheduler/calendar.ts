import type { Config } from "../shared/config.js";
import type { Deps } from "../shared/deps.js";
import { generateItems } from "../shared/sale/catalog.js";
import { createSale } from "../shared/sale/create.js";
import { pruneAttempts, retireSale } from "../shared/sale/retire.js";
import { periodStart } from "../shared/time.js";

const HOURLY_S = 3600;

/** The calendar's period: a sale starts every period and lasts one. */
export const periodMs = (cfg: Pick<Config, "SALE_PERIOD_S">) => cfg.SALE_PERIOD_S * 1000;

/**
 * How long before its start a period's sale is created: SALE_LEAD_S, at most one period.
 * The calendar looks one sale ahead, so a longer lead (the default 300 s with a 1 s period)
 * could not be honoured anyway; clamped, it means "as soon as the sale before starts", and
 * a short period works without a second setting.
 */
export const leadMs = (cfg: Pick<Config, "SALE_PERIOD_S" | "SALE_LEAD_S">) =>
  Math.min(cfg.SALE_LEAD_S, cfg.SALE_PERIOD_S) * 1000;

/**
 * The unique key of the calendar's sale that starts at `startsAt`. The hourly calendar
 * keeps the form databases already hold ('hourly:2026-11-22T10'), so an upgrade finds
 * this hour's sale rather than creating a second one; other periods name the period and
 * the start instant ('every-1s:2026-11-22T10:00:01.000Z'), so no two periods share a key.
 */
export function calendarSlotKey(startsAt: number, periodS: number): string {
  const iso = new Date(startsAt).toISOString();
  return periodS === HOURLY_S ? `hourly:${iso.slice(0, 13)}` : `every-${periodS}s:${iso}`;
}

export const hourlySlotKey = (startsAt: number) => calendarSlotKey(startsAt, HOURLY_S);

/** Creates (once) the calendar's sale that starts at `startsAt` and lasts one period. */
export function ensureCalendarSale(deps: Deps, startsAt: number) {
  const { cfg } = deps;
  return createSale(deps, {
    slotKey: calendarSlotKey(startsAt, cfg.SALE_PERIOD_S),
    // Whatever the period: the calendar's sales, as against those made through the API.
    kind: "hourly",
    startsAt: new Date(startsAt),
    endsAt: new Date(startsAt + periodMs(cfg)),
    userLimit: cfg.SALE_USER_LIMIT,
    items: generateItems(cfg.SALE_ITEMS, cfg.SALE_STOCK_PER_ITEM),
  });
}

/**
 * One tick of the calendar, safe to run any number of times and from any
 * number of schedulers: the current period's sale exists (a system started
 * mid-period opens the shop at once), the next one is loaded ahead of its start,
 * and sales that ended stop taking checkouts.
 */
export async function tickCalendar(deps: Deps, now = Date.now()) {
  const created: string[] = [];
  if (deps.cfg.SCHEDULER_HOURLY) {
    const period = periodMs(deps.cfg);
    const current = periodStart(now, period);
    const r = await ensureCalendarSale(deps, current);
    if (r.created) created.push(r.saleId);
    if (now >= current + period - leadMs(deps.cfg)) {
      const next = await ensureCalendarSale(deps, current + period);
      if (next.created) created.push(next.saleId);
    }
  }
  const closed = await closeEndedSales(deps, now);
  await pruneAttempts(deps, deps.cfg.ATTEMPTS_RETENTION_DAYS).catch((err: unknown) =>
    deps.log.warn({ err: String(err) }, "could not prune checkout attempts"),
  );
  return { created, closed };
}

/**
 * Marks ended sales closed (tickets still waiting for their units are rejected as their
 * jobs wake), and lets those ended more than SALE_RETENTION_S ago leave Redis once every
 * ticket is final (shared/sale/retire.ts), so Redis stays flat however many sales have
 * run; until then they stay listed, for sale_not_active answers and the sweeper.
 */
export async function closeEndedSales(deps: Deps, now: number): Promise<string[]> {
  const { redis, keys } = deps;
  const ids = await redis.zrange(keys.timeline, 0, -1);
  const closed: string[] = [];
  const retired: string[] = [];
  for (const id of ids) {
    const [ea, st] = await redis.hmget(keys.sale(id), "ea", "st");
    if (!ea) {
      await redis.zrem(keys.timeline, id);
      continue;
    }
    if (Number(ea) > now) continue;
    if (st !== "closed") {
      await redis.hset(keys.sale(id), "st", "closed");
      closed.push(id);
    }
    if (Number(ea) + deps.cfg.SALE_RETENTION_S * 1000 < now && (await retireSale(deps, id))) retired.push(id);
  }
  if (retired.length) deps.log.info({ sales: retired }, "ended sales left Redis (read from PostgreSQL now)");
  return closed;
}
