import { z } from "@hono/zod-openapi";
import { idString, iso, saleIdString, saleSchema, stockSchema } from "./common.js";

export const saleParams = z.object({
  // Any id-shaped value: one that is not a sale's (e.g. "abc", "01") is 404 sale_not_found.
  sale_id: idString.openapi({ example: "1" }),
});

export const MAX_PAGE = 1000;
export const pageQuery = z.object({
  cursor: idString.optional().openapi({ description: "`next_cursor` of the previous page." }),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(100),
});

export const itemsPage = z
  .object({
    items: z.array(
      z.object({ item_id: idString, name: z.string(), image_url: z.string(), stock: stockSchema }).strict(),
    ),
    next_cursor: idString.nullable().openapi({ description: "null on the last page." }),
  })
  .strict()
  .openapi("ItemsPage");

const MAX_SALES_PAGE = 100;
export const salesQuery = z.object({
  status: z
    .enum(["scheduled", "open", "closed"])
    .optional()
    .openapi({ description: "Only sales in this state now (`scheduled` = upcoming). Default: all." }),
  cursor: saleIdString.optional().openapi({ description: "`next_cursor` of the previous page." }),
  limit: z.coerce.number().int().min(1).max(MAX_SALES_PAGE).default(20),
});

export const salesPage = z
  .object({
    sales: z.array(saleSchema),
    next_cursor: saleIdString.nullable().openapi({ description: "null on the last page." }),
  })
  .strict()
  .openapi("SalesPage");

export const itemParams = z.object({ item_id: idString });

export const userParams = z.object({ user_id: idString });
// A user's purchases come a page at a time: across many sales the list has no bound.
const MAX_PURCHASES_PAGE = 1000;
export const purchasesQuery = z.object({
  sale_id: saleIdString.optional(),
  cursor: saleIdString.optional().openapi({ description: "`next_cursor` of the previous page." }),
  limit: z.coerce.number().int().min(1).max(MAX_PURCHASES_PAGE).default(MAX_PURCHASES_PAGE),
});

export const purchasesSchema = z
  .object({
    purchases: z.array(
      z
        .object({
          purchase_id: z.string(),
          ticket_id: z.string(),
          item_id: idString,
          sale_id: saleIdString,
          created_at: iso,
        })
        .strict(),
    ),
    next_cursor: saleIdString.nullable().openapi({ description: "null on the last page." }),
  })
  .strict()
  .openapi("Purchases");
