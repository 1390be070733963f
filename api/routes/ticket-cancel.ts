import { createRoute } from "@hono/zod-openapi";
import { cancelTicket } from "../../shared/checkout/cancel.js";
import { AppError } from "../../shared/errors.js";
import { TICKET_ID } from "../../shared/keys.js";
import { getTicket } from "../../shared/ticket/view.js";
import type { ApiCtx } from "../context.js";
import { shopperOf } from "../identity.js";
import { errors, json, router, shopperSecurity } from "../openapi.js";
import { ticketParams, ticketSchema } from "../schemas/tickets.js";

const route = createRoute({
  method: "delete",
  path: "/tickets/{ticket_id}",
  tags: ["shoppers"],
  security: shopperSecurity,
  summary: "Cancel a ticket: leave the line, or give up a two_step hold",
  description:
    "A `queued` ticket ends at once as `rejected` with reason `cancelled`, and leaves its item's line. A two_step ticket holding a unit behind its code (`reserved`, not yet confirmed by `POST /purchase`) gives the hold up at once: it ends the same way and its unit goes to the earliest waiting ticket (or back to stock), as when a hold expires. The answer is the ticket. Cancelling a ticket already cancelled changes nothing and answers it again (`200`). A ticket whose payment is under way (`paying`, `reserved` in a direct sale, a hold confirmed by `POST /purchase`) or that is final otherwise is `409 ticket_not_cancellable`. A cancel racing the ticket's reservation, confirmation or payment start has exactly one winner. With shopper identity, another user's ticket is `404 ticket_not_found`.",
  request: { params: ticketParams },
  responses: {
    200: json(ticketSchema, "The ticket, `rejected` with reason `cancelled`."),
    ...errors("ticket_not_found", "ticket_not_cancellable", "unauthorized", "unavailable"),
  },
});

export function ticketCancelRoutes(ctx: ApiCtx) {
  const app = router();
  app.openAPIRegistry.registerPath(route);
  return app.delete("/tickets/:ticket_id", async (c) => {
    const id = c.req.param("ticket_id") ?? "";
    if (!TICKET_ID.test(id)) throw new AppError("ticket_not_found", `no ticket ${id}`);
    // The script checks the ticket's key and, with shopper identity, its owner.
    await cancelTicket(ctx, id, shopperOf(c));
    const ticket = await getTicket(ctx.deps, id);
    // Cancelled a moment ago, so the ticket is there unless Redis lost it since.
    if (!ticket) throw new AppError("ticket_not_found", `no ticket ${id}`);
    return c.json(ticket, 200);
  });
}
