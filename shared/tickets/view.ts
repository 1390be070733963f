import { eq } from "drizzle-orm";
import { purchases } from "../db/schema.js";
import type { Deps } from "../deps.js";
import { parseTicketId } from "../keys.js";

export type TicketStatus = "queued" | "reserved" | "paying" | "purchased" | "rejected" | "failed";
export const FINAL: ReadonlySet<string> = new Set(["purchased", "rejected", "failed"]);

export interface TicketView {
  ticket_id: string;
  status: TicketStatus;
  reason: string | null;
  user_id: string;
  item_id: string;
  sale_id: string;
  position: number | null;
  purchase_id: string | null;
  created_at: string;
  updated_at: string;
}

const iso = (ms: string | undefined) => new Date(Number(ms ?? 0)).toISOString();

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
  const h = await deps.redis.hgetall(deps.keys.ticket(ref.saleId, ref.seq));
  if (h.st) {
    return {
      ticket_id: id,
      status: h.st as TicketStatus,
      reason: h.rs || null,
      user_id: h.u ?? "",
      item_id: h.i ?? "",
      sale_id: ref.saleId,
      position: h.st === "queued" && h.pos ? Number(h.pos) : null,
      purchase_id: h.pid || null,
      created_at: iso(h.ca),
      updated_at: iso(h.ua),
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
    purchase_id: String(p.id),
    created_at: at,
    updated_at: at,
  };
}
