import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import { z } from "zod";
import { AppError } from "../../shared/errors.js";
import { generateItems } from "../../shared/sales/catalog.js";
import { createSale } from "../../shared/sales/create.js";
import { getSale } from "../../shared/sales/view.js";
import type { ApiCtx } from "../context.js";
import { id, jsonBody, parse, requireJsonBody } from "../validation.js";

const MAX_ITEMS = 100_000;
const MAX_STOCK = 1_000_000;

const itemSchema = z
  .object({
    item_id: id,
    stock: z.number().int().min(0).max(MAX_STOCK),
    name: z.string().min(1).max(200).optional(),
    image_url: z.string().url().max(2000).optional(),
  })
  .strict();

const bodySchema = z
  .object({
    items: z.union([z.number().int().min(1).max(MAX_ITEMS), z.array(itemSchema).min(1).max(MAX_ITEMS)]),
    stock_per_item: z.number().int().min(0).max(MAX_STOCK).optional(),
    duration_s: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .default(3600),
    user_limit: z.number().int().min(1).max(1_000_000).optional(),
  })
  .strict();

export function adminSaleRoutes(ctx: ApiCtx) {
  return new Hono().post("/admin/sales", async (c) => {
    const body = parse(bodySchema, requireJsonBody(await jsonBody(c)), "body");
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
    const now = Date.now();
    const { saleId } = await createSale(ctx.deps, {
      slotKey: `adhoc:${randomUUID()}`,
      kind: "adhoc",
      startsAt: new Date(now),
      endsAt: new Date(now + body.duration_s * 1000),
      userLimit: body.user_limit ?? cfg.SALE_USER_LIMIT,
      items,
    });
    ctx.directory.invalidate();
    const sale = await getSale(ctx.deps, saleId);
    c.header("Location", `/sales/${saleId}`);
    return c.json(sale, 201);
  });
}
