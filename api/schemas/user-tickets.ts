import { z } from "@hono/zod-openapi";
import { idString, iso, saleIdString } from "./common.js";
import { TICKET_STATUSES } from "./tickets.js";

export const MAX_USER_TICKETS = 200;

export const userTicketsQuery = z.object({
  sale_id: saleIdString.optional().openapi({ description: "Only this sale's tickets." }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_USER_TICKETS)
    .default(50)
    .openapi({
      description: `The newest this many tickets (at most ${MAX_USER_TICKETS}).`,
    }),
});

export const userTicketsSchema = z
  .object({
    tickets: z.array(
      z
        .object({
          ticket_id: z.string().nullable().openapi({
            description:
              "The ticket's id, for `GET` and `DELETE /tickets/{ticket_id}`. With shopper identity off it is given only for purchased tickets (as `/users/{id}/purchases` does), null for the others: anyone can name a user id, and a live ticket's id lets one read its code, pay it or cancel it.",
          }),
          ref: z.string().openapi({
            description: "The ticket's place, `<sale_id>-<seq>`: the start of its id.",
            example: "1-17",
          }),
          status: z.enum(TICKET_STATUSES),
          reason: z.string().nullable(),
          item_id: idString,
          sale_id: saleIdString,
          purchase_id: z.string().nullable(),
          created_at: iso,
          updated_at: iso,
        })
        .strict(),
    ),
  })
  .strict()
  .openapi("UserTickets");
