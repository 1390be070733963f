import { createRoute, z } from "@hono/zod-openapi";
import { AppError } from "../../shared/errors.js";
import { saleOfItem } from "../../shared/sale/sale-of-item.js";
import { getItem } from "../../shared/sale/view.js";
import type { ApiCtx } from "../context.js";
import { errors, json, router } from "../openapi.js";
import { itemSchema, saleIdString } from "../schemas/common.js";
import { itemParams } from "../schemas/sales.js";

const route = createRoute({
  method: "get",
  path: "/items/{item_id}",
  tags: ["shoppers"],
  summary: "An item, in the sale asked for or the one open sale that has it (else the newest that had it)",
  description:
    "Without `sale_id`, an item id open in more than one sale is `409 sale_ambiguous`, naming them.",
  request: {
    params: itemParams,
    query: z.object({ sale_id: saleIdString.optional().openapi({ description: "The sale to look in." }) }),
  },
  responses: {
    200: json(itemSchema, "The item."),
    ...errors("invalid_request", "item_not_found", "sale_ambiguous"),
  },
});

export function itemRoutes(ctx: ApiCtx) {
  return router().openapi(route, async (c) => {
    const { item_id: itemId } = c.req.valid("param");
    const { sale_id: asked } = c.req.valid("query");
    const saleId = asked ?? (await saleOfItem(ctx.deps, ctx.directory, itemId));
    const item = await getItem(ctx.deps, saleId, itemId);
    if (!item)
      throw new AppError("item_not_found", `no item ${itemId} in ${asked ? `sale ${asked}` : "any sale"}`);
    return c.json(item, 200);
  });
}
