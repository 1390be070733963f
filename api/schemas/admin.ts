import { z } from "@hono/zod-openapi";
import { PROFILE_NAMES } from "../../shared/payment/profiles.js";
import { count, id, iso, queueCountsSchema, saleIdString, saleSchema, slotsSchema } from "./common.js";

const MAX_ITEMS = 100_000;
const MAX_STOCK = 1_000_000;

const newItem = z
  .object({
    item_id: id,
    stock: z.number().int().min(0).max(MAX_STOCK),
    name: z.string().min(1).max(200).optional().openapi({ description: "Defaults to the item id." }),
    image_url: z.string().url().max(2000).optional(),
  })
  .strict();

export const createSaleBody = z
  .object({
    items: z
      .union([z.number().int().min(1).max(MAX_ITEMS), z.array(newItem).min(1).max(MAX_ITEMS)])
      .openapi({ description: "How many items to generate, or the items themselves." }),
    stock_per_item: z
      .number()
      .int()
      .min(0)
      .max(MAX_STOCK)
      .optional()
      .openapi({ description: "Stock of each generated item." }),
    duration_s: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .default(3600),
    user_limit: z.number().int().min(1).max(1_000_000).optional(),
    starts_in_s: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600)
      .default(0)
      .openapi({
        description:
          "Seconds until the sale opens (default 0: at once). Checkouts in the last `FAIR_START_WINDOW_S` before the opening wait in the fair-start room.",
      }),
    checkout_mode: z.enum(["direct", "two_step"]).optional().openapi({
      description:
        "`direct` pays at once; `two_step` holds a reserved unit behind a checkout code for `hold_s` until `POST /purchase`. Defaults to `CHECKOUT_MODE`.",
    }),
    hold_s: z.number().int().min(1).max(3600).optional().openapi({
      description:
        "How long a two_step code holds its unit, in seconds. Defaults to `HOLD_S`. Only for a two_step sale: with an effective `checkout_mode` of `direct` (given, or the `CHECKOUT_MODE` default) it is `400 invalid_request`.",
    }),
  })
  .strict()
  .openapi("CreateSaleRequest", {
    description: "The sale opens in `starts_in_s` (at once by default) and lasts `duration_s`.",
  });

export const stockBody = z
  .object({
    delta: z
      .number()
      .int()
      .min(-1_000_000)
      .max(1_000_000)
      .refine((d) => d !== 0, "must not be 0"),
    sale_id: saleIdString.optional().openapi({
      description:
        "Defaults to the one open sale that has the item (`409 sale_ambiguous` if several do), else the newest that had it.",
    }),
  })
  .strict()
  .openapi("StockAdjustment");

const rate = z.number().min(0).max(1);
export const paymentsView = z
  .object({
    failure_rate: rate,
    hang_rate: rate,
    latency_ms: z.object({ min: count, max: count }).strict(),
    timeout_ms: count,
    slots: count,
    in_flight: count,
    peak_in_flight: count.openapi({ description: "Most payments in flight at once since the last change." }),
    profile: z
      .object({ name: z.enum(PROFILE_NAMES), until: iso, remaining_s: z.number().int() })
      .strict()
      .nullable()
      .openapi({ description: "The fault profile in force, if any." }),
  })
  .strict()
  .openapi("Payments", { description: "The settings in force (a profile's, while one runs)." });

const tally = z.record(z.string(), z.number());
const sample = z
  .object({
    t: z.number().int(),
    accepted: count,
    refused: tally,
    purchased: count,
    declined: count,
    timed_out: count,
    queue: count,
    slots_in_use: count,
    available: count,
  })
  .strict();

export const liveSchema = z
  .object({
    now: z.number().int(),
    sale: saleSchema.nullable(),
    queue: queueCountsSchema,
    slots: slotsSchema,
    payments: paymentsView,
    totals: z.object({ checkouts: tally, tickets: tally, payments: tally }).strict(),
    history: z.array(sample).openapi({ description: "One sample a second for the last minutes." }),
  })
  .strict()
  .openapi("Live");
