import { Hono } from "hono";
import { z } from "zod";
import { AppError } from "../../shared/errors.js";
import { getSale, listItems } from "../../shared/sales/view.js";
import type { ApiCtx } from "../context.js";
import { idString, parse, saleIdString } from "../validation.js";

const MAX_PAGE = 1000;
const pageQuery = z.object({
  cursor: idString.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(100),
});

const saleNotFound = (id: string) => new AppError("sale_not_found", `no sale ${id}`);

export function saleRoutes(ctx: ApiCtx) {
  const found = async (raw: string) => {
    const id = parse(idString, raw, "sale_id");
    const sale = saleIdString.safeParse(id).success ? await getSale(ctx.deps, id) : null;
    if (!sale) throw saleNotFound(id);
    return sale;
  };
  return new Hono()
    .get("/sales/current", async (c) => {
      const [open] = await ctx.directory.open();
      if (!open) throw new AppError("sale_not_found", "no sale is open now");
      return c.json(await found(open.saleId));
    })
    .get("/sales/:sale_id", async (c) => c.json(await found(c.req.param("sale_id"))))
    .get("/sales/:sale_id/items", async (c) => {
      const sale = await found(c.req.param("sale_id"));
      const q = parse(pageQuery, c.req.query());
      return c.json(await listItems(ctx.deps, sale.sale_id, q.cursor, q.limit));
    });
}
