import { createRoute } from "@hono/zod-openapi";
import { AppError } from "../../shared/errors.js";
import { saleOfItem } from "../../shared/sale/sale-of-item.js";
import { adjustStock } from "../../shared/sale/stock.js";
import { getItem } from "../../shared/sale/view.js";
import { wakeTickets } from "../../shared/ticket/enqueue.js";
import type { ApiCtx } from "../context.js";
import { adminSecurity, errors, json, router } from "../openapi.js";
import { stockBody } from "../schemas/admin.js";
import { itemSchema } from "../schemas/common.js";
import { itemParams } from "../schemas/sales.js";
import { jsonRequired } from "../validation.js";

const route = createRoute({
  method: "post",
  path: "/admin/items/{item_id}/stock",
  tags: ["admin"],
  security: adminSecurity,
  summary: "Add or remove units of an item",
  description: "Added units go first to tickets waiting for one.",
  middleware: jsonRequired,
  request: {
    params: itemParams,
    body: { required: true, content: { "application/json": { schema: stockBody } } },
  },
  responses: {
    200: json(itemSchema, "The item after the change."),
    ...errors(
      "invalid_request",
      "unauthorized",
      "item_not_found",
      "sale_ambiguous",
      "insufficient_stock",
      "unsupported_media_type",
    ),
  },
});

export function adminStockRoutes(ctx: ApiCtx) {
  return router().openapi(route, async (c) => {
    const { item_id: itemId } = c.req.valid("param");
    const body = c.req.valid("json");
    const saleId = body.sale_id ?? (await saleOfItem(ctx.deps, ctx.directory, itemId));
    const handed = await adjustStock(ctx.deps, saleId, itemId, body.delta);
    // Stock added here is on sale at once through this API, not a moment later.
    ctx.soldOut.forget(saleId, itemId);
    // Waiting tickets that got one of the new units are woken now.
    await wakeTickets(ctx.queue, saleId, handed);
    const item = await getItem(ctx.deps, saleId, itemId);
    if (!item) throw new AppError("item_not_found", `no item ${itemId} in sale ${saleId}`);
    return c.json(item, 200);
  });
}
