import { and, desc, eq } from "drizzle-orm";
import { purchases } from "../db/schema.js";
import type { Deps } from "../deps.js";
import type { TicketField } from "../fields.js";
import { ticketId, ticketRef } from "../keys.js";
import type { TicketStatus } from "./view.js";

export interface UserTicket {
  /** Null when the caller may not be given it (see listUserTickets' `ids`). */
  ticket_id: string | null;
  /** The ticket's place, `<sale>-<seq>`: names it without giving it away. */
  ref: string;
  status: TicketStatus;
  reason: string | null;
  item_id: string;
  sale_id: string;
  purchase_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface ListOptions {
  saleId?: string;
  limit: number;
  /**
   * 'all': every ticket's id (the caller is the user, proven by a token). 'purchased':
   * only purchased tickets' ids, which GET /users/{id}/purchases lists anyway: with
   * identity off anyone can name a user id, and a live ticket's id lets one read its
   * code, pay it or cancel it.
   */
  ids: "all" | "purchased";
}

const iso = (ms: string | null | undefined) => new Date(Number(ms ?? 0)).toISOString();

// The ticket hash's fields a listing shows, in the order read.
const LISTED = ["st", "why", "i", "k", "pid", "ca", "ua", "u"] as const satisfies readonly TicketField[];

/**
 * A user's tickets, newest first, at most `limit`: from each sale Redis still holds, the
 * user's ticket index (keys.userTickets, written at admission) and the live tickets; from
 * PostgreSQL, the purchases, which also stand for the tickets of sales retired from Redis
 * (only their purchases are kept) and of tickets Redis forgot (a day after they ended).
 */
export async function listUserTickets(
  deps: Pick<Deps, "redis" | "keys" | "db">,
  userId: string,
  opts: ListOptions,
): Promise<UserTicket[]> {
  const { redis, keys } = deps;
  const sales = opts.saleId ? [opts.saleId] : await redis.zrange(keys.timeline, 0, -1);
  // The newest `limit` of each sale: the newest `limit` of all are among them.
  const indexed = await Promise.all(
    sales.map(async (saleId) => {
      const flat = await redis.zrevrange(keys.userTickets(saleId, userId), 0, opts.limit - 1);
      return flat.map((seq) => ({ saleId, seq }));
    }),
  );
  const refs = indexed.flat();
  const pipe = redis.pipeline();
  // "rs": the reason's field on tickets written before it was named why (gone within 24 h).
  for (const r of refs) pipe.hmget(keys.ticket(r.saleId, r.seq), ...LISTED, "rs");
  const hashes = refs.length ? ((await pipe.exec()) ?? []) : [];
  const out: UserTicket[] = [];
  refs.forEach((r, i) => {
    const [err, h] = hashes[i] ?? [];
    const [st, why, item, key, pid, ca, ua, user, oldWhy] = (err ? [] : h) as (string | null)[];
    // Gone from Redis (a day after it ended): listed below if it was purchased.
    if (!st || !key || user !== userId) return;
    const showId = opts.ids === "all" || st === "purchased";
    out.push({
      ticket_id: showId ? ticketId(r.saleId, r.seq, key) : null,
      ref: ticketRef(r.saleId, r.seq),
      status: st as TicketStatus,
      reason: why || oldWhy || null,
      item_id: item ?? "",
      sale_id: r.saleId,
      purchase_id: pid || null,
      created_at: iso(ca),
      updated_at: iso(ua),
    });
  });

  const listed = new Set(out.map((t) => t.ref));
  const where = opts.saleId
    ? and(eq(purchases.userId, userId), eq(purchases.saleId, Number(opts.saleId)))
    : eq(purchases.userId, userId);
  const bought = await deps.db
    .select()
    .from(purchases)
    .where(where)
    .orderBy(desc(purchases.id))
    .limit(opts.limit + listed.size);
  for (const p of bought) {
    const [sale, seq] = p.ticketId.split("-");
    const ref = ticketRef(sale ?? "", seq ?? "");
    if (listed.has(ref)) continue;
    const at = p.createdAt.toISOString();
    // The ticket itself is gone: its purchase's time stands for both of its times.
    out.push({
      ticket_id: p.ticketId,
      ref,
      status: "purchased",
      reason: null,
      item_id: p.itemId,
      sale_id: String(p.saleId),
      purchase_id: String(p.id),
      created_at: at,
      updated_at: at,
    });
  }
  out.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
  return out.slice(0, opts.limit);
}
