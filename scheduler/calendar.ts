import type { Deps } from "../shared/deps.js";
import { generateItems } from "../shared/sales/catalog.js";
import { createSale } from "../shared/sales/create.js";
import { pruneAttempts, retireSale } from "../shared/sales/retire.js";
import { HOUR_MS, hourStart } from "../shared/time.js";

export const hourlySlotKey = (startsAt: number) => `hourly:${new Date(startsAt).toISOString().slice(0, 13)}`;

/** Creates (once) the hourly sale that starts at `startsAt`. */
export function ensureHourlySale(deps: Deps, startsAt: number) {
  const { cfg } = deps;
  return createSale(deps, {
    slotKey: hourlySlotKey(startsAt),
    kind: "hourly",
    startsAt: new Date(startsAt),
    endsAt: new Date(startsAt + HOUR_MS),
    userLimit: cfg.SALE_USER_LIMIT,
    items: generateItems(cfg.SALE_ITEMS, cfg.SALE_STOCK_PER_ITEM),
  });
}

/**
 * One tick of the calendar, safe to run any number of times and from any
 * number of schedulers: the current hour's sale exists (a system started
 * mid-hour opens the shop at once), the next one is loaded ahead of its start,
 * and sales that ended stop taking checkouts.
 */
export async function tickCalendar(deps: Deps, now = Date.now()) {
  const created: string[] = [];
  if (deps.cfg.SCHEDULER_HOURLY) {
    const current = hourStart(now);
    const r = await ensureHourlySale(deps, current);
    if (r.created) created.push(r.saleId);
    if (now >= current + HOUR_MS - deps.cfg.SALE_LEAD_S * 1000) {
      const next = await ensureHourlySale(deps, current + HOUR_MS);
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
 * ticket is final (shared/sales/retire.ts), so Redis stays flat however many sales have
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
