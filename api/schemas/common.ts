import { z } from "@hono/zod-openapi";

// Ids of users and items: 1-64 characters of [A-Za-z0-9_-]. A JSON number such
// as 1001 is taken as the id "1001". (api/input.ts checks the same by hand on the hot routes.)
export const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
export const idString = z
  .string()
  .regex(ID_RE, "must be 1-64 characters of A-Z, a-z, 0-9, _ or -")
  .openapi({ example: "42" });
export const id = z
  .union([idString, z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).transform(String)], {
    error: "must be 1-64 characters of A-Z, a-z, 0-9, _ or -, or a non-negative whole number",
  })
  .openapi({ description: 'An id; a JSON integer such as 1001 is taken as "1001".' });
// Sale ids are PostgreSQL bigserials in canonical decimal. A leading zero would
// reach the same row through Number() but not the sale's Redis keys ("{s01}"),
// splitting PostgreSQL from Redis.
export const SALE_ID_RE = /^[1-9][0-9]{0,17}$/;
export const saleIdString = z.string().regex(SALE_ID_RE, "must be a sale id").openapi({ example: "1" });

const count = z.number().int().nonnegative();
const iso = z.string().openapi({ format: "date-time" });

export const stockSchema = z
  .object({ total: count, available: count, reserved: count, sold: count })
  .strict()
  .openapi("Stock", { description: "Units of an item or a sale: available + reserved + sold = total." });

export const saleSchema = z
  .object({
    sale_id: saleIdString,
    starts_at: iso,
    ends_at: iso,
    status: z.string().openapi({ enum: ["scheduled", "open", "closed"] }),
    user_limit: count,
    item_count: count,
    stock: stockSchema,
    checkout_mode: z.enum(["direct", "two_step"]).openapi({
      description:
        "`direct` pays at once; `two_step` holds a unit behind a checkout code until `POST /purchase`.",
    }),
    hold_s: count
      .nullable()
      .openapi({ description: "How long a two_step code holds its unit; null when direct." }),
  })
  .strict()
  .openapi("Sale");

export const itemSchema = z
  .object({
    item_id: idString,
    sale_id: saleIdString,
    name: z.string(),
    image_url: z.string(),
    stock: stockSchema,
  })
  .strict()
  .openapi("Item");

/** BullMQ's job counts of the checkout queue. */
export const queueCountsSchema = z
  .object({ waiting: count, active: count, delayed: count, completed: count, failed: count })
  .strict()
  .openapi("QueueCounts");

/** Payment slots: the cap, those held now, and what the simulator counted. */
export const slotsSchema = z
  .object({ slots: count, held: count, in_flight: count, peak_in_flight: count })
  .strict()
  .openapi("Slots");

export { count, iso };
