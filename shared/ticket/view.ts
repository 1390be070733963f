import { timingSafeEqual } from "node:crypto";
import { eq } from "drizzle-orm";
import { purchases } from "../db/schema.js";
import type { Deps } from "../deps.js";
import { type Stock, stockOf } from "../fields.js";
import { parseTicketId } from "../keys.js";
import { formatCode } from "./codes.js";
import { ITEM_FIELDS, inRoom, standing } from "./standing.js";

export type TicketStatus = "queued" | "reserved" | "paying" | "purchased" | "rejected" | "failed";
export const FINAL: ReadonlySet<string> = new Set(["purchased", "rejected", "failed"]);
/** A final ticket stays readable in Redis this long (s). */
export const FINAL_TTL_S = 24 * 3600;

export interface TicketView {
  ticket_id: string;
  status: TicketStatus;
  reason: string | null;
  user_id: string;
  item_id: string;
  sale_id: string;
  position: number | null;
  eta_ms: number | null;
  poll_after_ms: number | null;
  /** The item's stock now, so a shopper far back learns early that it is gone; null once Redis forgot the sale. */
  stock: Stock | null;
  purchase_id: string | null;
  created_at: string;
  updated_at: string;
  /** Two_step sales only (absent otherwise): the checkout code for POST /purchase, once a unit is held. */
  code?: string | null;
  /** Two_step sales only: when the hold ends unless POST /purchase came first. */
  expires_at?: string | null;
}

const iso = (ms: string | undefined) => new Date(Number(ms ?? 0)).toISOString();

/** A ticket's key against the one in the id asked for, in constant time. */
function sameKey(kept: string | undefined, asked: string): boolean {
  if (kept === undefined || kept.length !== asked.length) return false;
  return timingSafeEqual(Buffer.from(kept), Buffer.from(asked));
}

/**
 * The live ticket from Redis. A ticket Redis no longer has but PostgreSQL
 * settled is still shown as purchased: a purchase outlives Redis.
 */
export async function getTicket(
  deps: Pick<Deps, "redis" | "keys" | "db">,
  id: string,
): Promise<TicketView | null> {
  const ref = parseTicketId(id);
  if (!ref) return null;
  const { redis, keys } = deps;
  const key = keys.ticket(ref.saleId, ref.seq);
  const h = await redis.hgetall(key);
  // Only whoever was given the id may read the ticket: the same place with another key is no ticket.
  if (h.st && !sameKey(h.k, ref.key)) return null;
  if (h.st) {
    const itemId = h.i ?? "";
    const queued = h.st === "queued";
    // Both reads in one round trip: the line's rank is exact when read, the stock a moment later at most.
    const [rank, item] = await Promise.all([
      queued ? redis.zrank(keys.line(ref.saleId, itemId), ref.seq) : null,
      redis.hmget(keys.item(ref.saleId, itemId), ...ITEM_FIELDS),
    ]);
    // Out of the line although the hash said queued: it may have left the line (reserved,
    // rejected) between the two reads; if so, show it as it is now, not queued without a place.
    if (queued && rank === null && (await redis.hget(key, "st")) !== "queued") return getTicket(deps, id);
    // A ticket missing from the line (its sale reloaded from PostgreSQL) shows its place at
    // admission: only tickets accepted earlier can be ahead of it, and they only leave.
    const position = !queued ? null : rank !== null ? rank + 1 : h.pos ? Number(h.pos) : null;
    const [, , , , gap, lt] = item;
    const where =
      queued && position === null && h.oa ? inRoom(Number(h.oa)) : standing(h.st, position, gap, lt);
    return {
      ticket_id: id,
      status: h.st as TicketStatus,
      // h.rs: the reason's field on tickets written before it was named why (gone within 24 h).
      reason: h.why || h.rs || null,
      user_id: h.u ?? "",
      item_id: itemId,
      sale_id: ref.saleId,
      ...where,
      stock: item[0] === null ? null : stockOf(item),
      purchase_id: h.pid || null,
      created_at: iso(h.ca),
      updated_at: iso(h.ua),
      ...(h.two ? { code: h.cd ? formatCode(id, h.cd) : null, expires_at: h.ex ? iso(h.ex) : null } : {}),
    };
  }
  const [p] = await deps.db.select().from(purchases).where(eq(purchases.ticketId, id)).limit(1);
  if (!p) return null;
  const at = p.createdAt.toISOString();
  return {
    ticket_id: id,
    status: "purchased",
    reason: null,
    user_id: p.userId,
    item_id: p.itemId,
    sale_id: String(p.saleId),
    position: null,
    eta_ms: null,
    poll_after_ms: null,
    stock: null,
    purchase_id: String(p.id),
    created_at: at,
    updated_at: at,
  };
}
