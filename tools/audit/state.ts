import type { Deps } from "../../shared/deps.js";
import { FINAL_TTL_S } from "../../shared/ticket/view.js";
import { scanTickets, type TicketRow } from "./tickets.js";

// Final tickets live this long in Redis: an accepted ticket older than that may rightly be gone.
const TICKET_MEMORY_S = FINAL_TTL_S;

/** The PostgreSQL constraints that are the second guard (contract invariant 4). */
export const GUARD_CONSTRAINTS = [
  "items_sold_within_stock",
  "purchases_ticket_id_unique",
  "sale_users_within_limit",
  "sales_user_limit",
] as const;

export interface RedisItem {
  tot: number;
  av: number;
  rs: number;
  sd: number;
  q: number;
}

/** Everything the audit compares, read once from both stores. */
export interface SaleState {
  saleId: string;
  /** Null when PostgreSQL has no such sale. */
  userLimit: number | null;
  pgItems: { item_id: string; stock: number; sold: number }[];
  purchases: { id: string; ticket_id: string; item_id: string; user_id: string }[];
  saleUsers: { user_id: string; purchased: number }[];
  /**
   * Tickets PostgreSQL recorded as accepted recently enough that Redis must still hold them;
   * not those recorded as cancelled (ended, and not re-created after a Redis loss).
   */
  accepted: string[];
  constraints: string[];
  /** Null when Redis has no such sale (never loaded, lost, or retired). */
  redisSale: RedisItem | null;
  /** Ended, and no longer in Redis: retired after its retention (shared/sale/retire.ts), read from PostgreSQL. */
  retired: boolean;
  redisItems: Map<string, RedisItem | null>;
  held: Record<string, string>;
  pending: Record<string, string>;
  tickets: TicketRow[];
  slots: { held: number; inFlight: number; peak: number; cap: number | null };
}

const toItem = (v: (string | null)[]): RedisItem | null => {
  if (v[0] === null || v[0] === undefined) return null;
  const [tot, av, rs, sd, q] = v.map(Number) as number[];
  return { tot: tot ?? 0, av: av ?? 0, rs: rs ?? 0, sd: sd ?? 0, q: q ?? 0 };
};

/**
 * Reads a sale from both stores. Tickets are found by scanning unless `tickets`
 * says otherwise (the tests count 1..n, so that a lost ticket shows as missing).
 */
export async function readSaleState(
  deps: Pick<Deps, "redis" | "keys" | "db">,
  saleId: string,
  tickets: typeof scanTickets = scanTickets,
) {
  const { redis, keys } = deps;
  const sql = deps.db.client;
  const sid = Number(saleId);
  const [sale] = await sql<{ user_limit: number; ended: boolean }[]>`
    select user_limit, ends_at < now() as ended from sales where id = ${sid}`;
  const pgItems = await sql<{ item_id: string; stock: number; sold: number }[]>`
    select item_id, stock, sold from items where sale_id = ${sid} order by item_id`;
  const purchases = await sql<{ id: string; ticket_id: string; item_id: string; user_id: string }[]>`
    select id::text, ticket_id, item_id, user_id from purchases where sale_id = ${sid}`;
  const saleUsers = await sql<{ user_id: string; purchased: number }[]>`
    select user_id, purchased from sale_users where sale_id = ${sid}`;
  const accepted = await sql<{ ticket_id: string }[]>`
    select ticket_id from checkout_attempts
    where sale_id = ${sid} and outcome = 'accepted' and ticket_id is not null
      and created_at > now() - make_interval(secs => ${TICKET_MEMORY_S})
      and ticket_id not in (
        select c.ticket_id from checkout_attempts c
        where c.sale_id = ${sid} and c.outcome = 'cancelled' and c.ticket_id is not null)`;
  const constraints = await sql<{ conname: string }[]>`
    select conname from pg_constraint where conname in ${sql([...GUARD_CONSTRAINTS])}`;

  const pipe = redis.pipeline();
  for (const it of pgItems) pipe.hmget(keys.item(saleId, it.item_id), "tot", "av", "rs", "sd", "q");
  const live = (await pipe.exec()) ?? [];
  const redisItems = new Map<string, RedisItem | null>();
  pgItems.forEach((it, i) => {
    redisItems.set(it.item_id, toItem((live[i]?.[1] as (string | null)[]) ?? []));
  });
  const now = Date.now();
  const cap = await redis.hget(keys.payments, "slots");
  const redisSale = toItem(await redis.hmget(keys.sale(saleId), "tot", "av", "rs", "sd", "q"));
  return {
    saleId,
    userLimit: sale?.user_limit ?? null,
    pgItems: [...pgItems],
    purchases: [...purchases],
    saleUsers: [...saleUsers],
    accepted: accepted.map((r) => r.ticket_id),
    constraints: constraints.map((r) => r.conname),
    redisSale,
    retired: Boolean(sale?.ended) && redisSale === null,
    redisItems,
    held: await redis.hgetall(keys.held(saleId)),
    pending: await redis.hgetall(keys.pending(saleId)),
    tickets: await tickets(deps, saleId),
    slots: {
      held: await redis.zcount(keys.slots, now, "+inf"),
      inFlight: await redis.zcount(keys.inflight, now, "+inf"),
      peak: Number((await redis.get(keys.peak)) ?? 0),
      cap: cap === null ? null : Number(cap),
    },
  } satisfies SaleState;
}
