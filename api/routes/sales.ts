import { createRoute } from "@hono/zod-openapi";
import { AppError } from "../../shared/errors.js";
import { listSales } from "../../shared/sale/list.js";
import { getSale, listItems } from "../../shared/sale/view.js";
import type { ApiCtx } from "../context.js";
import { errors, json, router } from "../openapi.js";
import { saleIdString, saleSchema } from "../schemas/common.js";
import { itemsPage, pageQuery, saleParams, salesPage, salesQuery } from "../schemas/sales.js";

const list = createRoute({
  method: "get",
  path: "/sales",
  tags: ["shoppers"],
  summary: "Sales, newest first: upcoming, open and ended",
  description:
    "A page of sales in the order they were created, newest first (so an upcoming sale created ahead of its start comes before the open one); `?status=open` lists only the sales open now. Ended sales that have left Redis are read from PostgreSQL.",
  request: { query: salesQuery },
  responses: { 200: json(salesPage, "One page, newest first."), ...errors("invalid_request") },
});

const current = createRoute({
  method: "get",
  path: "/sales/current",
  tags: ["shoppers"],
  summary: "The sale open now (the newest, when several are)",
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
    200: json(itemsPage, "One page, in natural item id order (1, 2, 10, 100; A2 before A10)."),
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
    .openapi(list, async (c) => {
      const q = c.req.valid("query");
      return c.json(await listSales(ctx.deps, q), 200);
    })
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
