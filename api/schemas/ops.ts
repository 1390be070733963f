import { z } from "@hono/zod-openapi";
import { queueCountsSchema, saleSchema, slotsSchema } from "./common.js";

const store = z.enum(["ok", "down"]);

export const healthOk = z
  .object({ status: z.literal("ok"), redis: z.literal("ok"), postgres: z.literal("ok") })
  .strict()
  .openapi("Health");

export const healthDown = z
  .object({
    status: z.literal("down"),
    redis: store,
    postgres: store,
    error: z.object({ code: z.literal("unavailable"), message: z.string() }).strict(),
  })
  .strict()
  .openapi("HealthDown");

const throughputSchema = z
  .object({ purchases_per_s: z.number(), accepted_per_s: z.number() })
  .strict()
  .openapi("Throughput");

export const statsSchema = z
  .object({
    sale: saleSchema.nullable().openapi({
      description:
        "The sale asked for (`?sale_id=`), else the current sale (the newest open), or null when none is open.",
    }),
    queue: queueCountsSchema,
    slots: slotsSchema,
    throughput: throughputSchema.openapi({ description: "Of `sale`." }),
    sales: z.array(z.object({ sale: saleSchema, throughput: throughputSchema }).strict()).openapi({
      description:
        "Every open sale, newest first, with its own throughput; with `?sale_id=`, that sale alone.",
    }),
  })
  .strict()
  .openapi("Stats");
