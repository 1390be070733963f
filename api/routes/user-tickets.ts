import { createRoute } from "@hono/zod-openapi";
import { AppError } from "../../shared/errors.js";
import { listUserTickets } from "../../shared/ticket/list.js";
import type { ApiCtx } from "../context.js";
import { shopperOf } from "../identity.js";
import { errors, json, router, shopperSecurity } from "../openapi.js";
import { userParams } from "../schemas/sales.js";
import { userTicketsQuery, userTicketsSchema } from "../schemas/user-tickets.js";

const route = createRoute({
  method: "get",
  path: "/users/{user_id}/tickets",
  tags: ["shoppers"],
  security: shopperSecurity,
  summary: "A user's tickets, newest first (an unknown user has none)",
  description:
    "Every ticket of the user in the sales Redis holds (open, upcoming, and those ended less than `SALE_RETENTION_S` ago), whatever its status, with its reason. A sale retired from Redis keeps only its purchases (in PostgreSQL): its purchased tickets are listed, its other tickets are not; so are a purchased ticket's that Redis forgot a day after it ended. The newest `limit` (50 by default, at most 200). With shopper identity on, only the token's user may list theirs (`404` for anyone else); with it off, `ticket_id` is given only for purchased tickets.",
  request: { params: userParams, query: userTicketsQuery },
  responses: {
    200: json(userTicketsSchema, "The tickets."),
    ...errors("invalid_request", "not_found", "unauthorized"),
  },
});

export function userTicketRoutes(ctx: ApiCtx) {
  return router().openapi(route, async (c) => {
    const { user_id: userId } = c.req.valid("param");
    const { sale_id: saleId, limit } = c.req.valid("query");
    // As /users/{id}/purchases: with shopper identity, a user's tickets are theirs alone.
    const shopper = shopperOf(c);
    if (shopper !== undefined && shopper !== userId) throw new AppError("not_found", "no such user");
    const tickets = await listUserTickets(ctx.deps, userId, {
      saleId,
      limit,
      ids: shopper === undefined ? "purchased" : "all",
    });
    return c.json({ tickets }, 200);
  });
}
