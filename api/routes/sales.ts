import { createRoute } from "@hono/zod-openapi";
import { AppError } from "../../shared/errors.js";
import { getSale, listItems } from "../../shared/sales/view.js";
import type { ApiCtx } from "../context.js";
import { errors, json, router } from "../openapi.js";
import { saleIdString, saleSchema } from "../schemas/common.js";
import { itemsPage, pageQuery, saleParams } from "../schemas/sales.js";

const current = createRoute({
  method: "get",
  path: "/sales/current",
  tags: ["shoppers"],
  summary: "The sale open now",
  responses: { 200: json(saleSchema, "The open sale."), ...errors("sale_not_found") },
});

const one = createRoute({
  method: "get",
  path: "/sales/{sale_id}",
  tags: ["shoppers"],
  summary: "A sale",
  request: { params: saleParams },
  responses: { 200: json(saleSchema, "The sale."), ...errors("invalid_request", "sale_not_found") },
});

const items = createRoute({
  method: "get",
  path: "/sales/{sale_id}/items",
  tags: ["shoppers"],
  summary: "A sale's items, a page at a time",
  request: { params: saleParams, query: pageQuery },
  responses: {
    200: json(itemsPage, "One page, in item id order."),
    ...errors("invalid_request", "sale_not_found"),
  },
});

export function saleRoutes(ctx: ApiCtx) {
  const found = async (id: string) => {
    const sale = saleIdString.safeParse(id).success ? await getSale(ctx.deps, id) : null;
    if (!sale) throw new AppError("sale_not_found", `no sale ${id}`);
    return sale;
  };
  return router()
    .openapi(current, async (c) => {
      const [open] = await ctx.directory.open();
      if (!open) throw new AppError("sale_not_found", "no sale is open now");
      return c.json(await found(open.saleId), 200);
    })
    .openapi(one, async (c) => c.json(await found(c.req.valid("param").sale_id), 200))
    .openapi(items, async (c) => {
      const sale = await found(c.req.valid("param").sale_id);
      const q = c.req.valid("query");
      return c.json(await listItems(ctx.deps, sale.sale_id, q.cursor, q.limit), 200);
    });
}
