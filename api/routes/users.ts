import { createRoute } from "@hono/zod-openapi";
import { and, asc, eq, gt } from "drizzle-orm";
import { purchases } from "../../shared/db/schema.js";
import { AppError } from "../../shared/errors.js";
import type { ApiCtx } from "../context.js";
import { shopperOf } from "../identity.js";
import { errors, json, router, shopperSecurity } from "../openapi.js";
import { purchasesQuery, purchasesSchema, userParams } from "../schemas/sales.js";

const route = createRoute({
  method: "get",
  path: "/users/{user_id}/purchases",
  tags: ["shoppers"],
  security: shopperSecurity,
  summary: "A user's purchases, oldest first, a page at a time (an unknown user has none)",
  request: { params: userParams, query: purchasesQuery },
  responses: {
    200: json(purchasesSchema, "The purchases."),
    ...errors("invalid_request", "not_found", "unauthorized"),
  },
});

export function userRoutes(ctx: ApiCtx) {
  return router().openapi(route, async (c) => {
    const { user_id: userId } = c.req.valid("param");
    const { sale_id, cursor, limit } = c.req.valid("query");
    // With shopper identity, a user's purchases are theirs alone (404, as if there were no such user).
    const shopper = shopperOf(c);
    if (shopper !== undefined && shopper !== userId) throw new AppError("not_found", "no such user");
    const where = and(
      eq(purchases.userId, userId),
      sale_id ? eq(purchases.saleId, Number(sale_id)) : undefined,
      cursor ? gt(purchases.id, Number(cursor)) : undefined,
    );
    // One more than the page, to know whether another follows.
    const found = await ctx.deps.db
      .select()
      .from(purchases)
      .where(where)
      .orderBy(asc(purchases.id))
      .limit(limit + 1);
    const rows = found.slice(0, limit);
    const last = rows.at(-1);
    return c.json(
      {
        next_cursor: found.length > limit && last ? String(last.id) : null,
        purchases: rows.map((p) => ({
          purchase_id: String(p.id),
          ticket_id: p.ticketId,
          item_id: p.itemId,
          sale_id: String(p.saleId),
          created_at: p.createdAt.toISOString(),
        })),
      },
      200,
    );
  });
}
