import { createRoute } from "@hono/zod-openapi";
import { AppError } from "../../shared/errors.js";
import { listPurchases } from "../../shared/purchase/list.js";
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
    const page = await listPurchases(ctx.deps, userId, { saleId: sale_id, cursor, limit });
    return c.json(page, 200);
  });
}
