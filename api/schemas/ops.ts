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

export const statsSchema = z
  .object({
    sale: saleSchema.nullable().openapi({ description: "The current sale, or null when none is open." }),
    queue: queueCountsSchema,
    slots: slotsSchema,
    throughput: z.object({ purchases_per_s: z.number(), accepted_per_s: z.number() }).strict(),
  })
  .strict()
  .openapi("Stats");
