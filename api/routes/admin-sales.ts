import { randomUUID } from "node:crypto";
import { createRoute } from "@hono/zod-openapi";
import { AppError } from "../../shared/errors.js";
import { generateItems } from "../../shared/sale/catalog.js";
import { createSale } from "../../shared/sale/create.js";
import { getSale } from "../../shared/sale/view.js";
import type { ApiCtx } from "../context.js";
import { adminSecurity, errors, json, router } from "../openapi.js";
import { createSaleBody } from "../schemas/admin.js";
import { saleSchema } from "../schemas/common.js";
import { jsonRequired } from "../validation.js";

const route = createRoute({
  method: "post",
  path: "/admin/sales",
  tags: ["admin"],
  security: adminSecurity,
  summary: "Create a sale, open at once or in `starts_in_s`",
  middleware: jsonRequired,
  request: { body: { required: true, content: { "application/json": { schema: createSaleBody } } } },
  responses: {
    201: {
      ...json(saleSchema, "The sale; `Location` is its URL."),
      headers: { Location: { schema: { type: "string" }, description: "The sale's URL." } },
    },
    ...errors("invalid_request", "unauthorized", "unsupported_media_type", "payload_too_large"),
  },
});

export function adminSaleRoutes(ctx: ApiCtx) {
  return router().openapi(route, async (c) => {
    const body = c.req.valid("json");
    const { cfg } = ctx.deps;
    const items =
      typeof body.items === "number"
        ? generateItems(body.items, body.stock_per_item ?? cfg.SALE_STOCK_PER_ITEM)
        : body.items.map((it) => ({
            itemId: it.item_id,
            stock: it.stock,
            name: it.name ?? it.item_id,
            imageUrl: it.image_url ?? `https://picsum.photos/seed/${encodeURIComponent(it.item_id)}/400/400`,
          }));
    if (new Set(items.map((i) => i.itemId)).size !== items.length) {
      throw new AppError("invalid_request", "items: item_id values must be unique");
    }
    const startsAt = Date.now() + body.starts_in_s * 1000;
    const { saleId } = await createSale(ctx.deps, {
      slotKey: `adhoc:${randomUUID()}`,
      kind: "adhoc",
      startsAt: new Date(startsAt),
      endsAt: new Date(startsAt + body.duration_s * 1000),
      userLimit: body.user_limit ?? cfg.SALE_USER_LIMIT,
      items,
      ...(body.checkout_mode ? { checkoutMode: body.checkout_mode } : {}),
      ...(body.hold_s !== undefined ? { holdS: body.hold_s } : {}),
    });
    ctx.directory.invalidate();
    // An item remembered sold out in "whichever sale has it" may now be on sale here too.
    ctx.soldOut.forgetUnnamed();
    const sale = await getSale(ctx.deps, saleId);
    if (!sale) throw new AppError("internal", `sale ${saleId} vanished after creation`);
    c.header("Location", `/sales/${saleId}`);
    return c.json(sale, 201);
  });
}
