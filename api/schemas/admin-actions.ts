import { z } from "@hono/zod-openapi";
import { ADMIN_ACTIONS_KEPT } from "../admin-actions.js";

const adminActionSchema = z
  .object({
    at: z.string().openapi({ format: "date-time" }),
    user: z.string().openapi({ description: "The admin user (HTTP Basic auth) who sent it." }),
    from: z.string().openapi({ description: "The client address, as the rate limits see it." }),
    method: z.string(),
    path: z.string(),
    status: z.number().int(),
    outcome: z.string().openapi({ description: '"ok", or the error code of the answer.' }),
    request: z.record(z.string(), z.unknown()).nullable().openapi({
      description:
        "What the route's schemas accepted (`param`, `query`, `json`), lists over 5 entries as their length and text cut at 80 characters; null when nothing was validated (a refused request, a queue dashboard action).",
    }),
    sale_id: z.string().optional().openapi({ description: "The sale the answer named (a sale created)." }),
  })
  .openapi("AdminAction");

export const adminActionsSchema = z.object({ actions: z.array(adminActionSchema) }).openapi("AdminActions", {
  description: `The newest admin actions of every API process, newest first (at most ${ADMIN_ACTIONS_KEPT}).`,
});

export const adminActionsQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(ADMIN_ACTIONS_KEPT)
    .default(ADMIN_ACTIONS_KEPT)
    .openapi({ description: "How many, newest first." }),
});
