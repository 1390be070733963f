import { and, asc, eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { purchases } from "../../shared/db/schema.js";
import type { ApiCtx } from "../context.js";
import { idString, parse, saleIdString } from "../validation.js";

const query = z.object({ sale_id: saleIdString.optional() });

export function userRoutes(ctx: ApiCtx) {
  return new Hono().get("/users/:user_id/purchases", async (c) => {
    const userId = parse(idString, c.req.param("user_id"), "user_id");
    const { sale_id } = parse(query, c.req.query());
    const where = sale_id
      ? and(eq(purchases.userId, userId), eq(purchases.saleId, Number(sale_id)))
      : eq(purchases.userId, userId);
    const rows = await ctx.deps.db.select().from(purchases).where(where).orderBy(asc(purchases.id));
    return c.json({
      purchases: rows.map((p) => ({
        purchase_id: String(p.id),
        ticket_id: p.ticketId,
        item_id: p.itemId,
        sale_id: String(p.saleId),
        created_at: p.createdAt.toISOString(),
      })),
    });
  });
}
