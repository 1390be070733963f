import type { Deps } from "../deps.js";
import { scanKeys } from "../redis.js";

/**
 * Removes an ended sale's keys from Redis, so Redis stays flat across sales: its hash,
 * items, lines, tickets, holds, idempotency keys, all under its `{s<id>}` tag. Only once
 * every ticket is final and settled (nothing queued, nothing reserved); false otherwise,
 * to be tried again later. Its reads then come from PostgreSQL (shared/sale/view.ts,
 * and purchased tickets in shared/ticket/view.ts).
 */
export async function retireSale(deps: Pick<Deps, "redis" | "keys">, saleId: string): Promise<boolean> {
  const { redis, keys } = deps;
  const [q, rs] = await redis.hmget(keys.sale(saleId), "q", "rs");
  if (Number(q ?? 0) > 0 || Number(rs ?? 0) > 0) return false;
  // Off the lists first, so nothing (the sweeper, the room opener, the directory) turns to it again.
  await Promise.all([redis.zrem(keys.timeline, saleId), redis.zrem(keys.rooms, saleId)]);
  // One slot (the sale's tag), so in a cluster every key is on one master.
  for await (const found of scanKeys(redis, `${keys.prefix}:{s${saleId}}:*`)) {
    await Promise.all(found.map((k) => redis.unlink(k)));
  }
  return true;
}

/** Deletes checkout attempts older than `days`, a bounded batch per call (the scheduler calls it every tick). */
export async function pruneAttempts(deps: Pick<Deps, "db">, days: number, batch = 10_000): Promise<number> {
  const sql = deps.db.client;
  const rows = await sql`
    delete from checkout_attempts where id in (
      select id from checkout_attempts
      where created_at < now() - make_interval(days => ${days})
      limit ${batch}
    )`;
  return rows.count;
}
