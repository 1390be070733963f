import { createRoute } from "@hono/zod-openapi";
import { AppError } from "../../shared/errors.js";
import { getTicket } from "../../shared/tickets/view.js";
import { waitForChange } from "../../shared/tickets/wait.js";
import type { ApiCtx } from "../context.js";
import { hangupOf } from "../node-request.js";
import { errors, json, router } from "../openapi.js";
import { ticketParams, ticketQuery, ticketSchema } from "../schemas/tickets.js";

export const TICKET_ID = /^[0-9]{1,18}-[0-9]{1,18}$/;

const route = createRoute({
  method: "get",
  path: "/tickets/{ticket_id}",
  tags: ["shoppers"],
  summary: "Poll a ticket",
  description:
    "With `?wait=MS`, a long poll: the answer comes the moment the ticket's status changes (pushed from Redis, not re-read in a loop), or after MS. With `&seen=S` too, the moment its status is not S, the one the client last saw (at once if it already changed).",
  request: { params: ticketParams, query: ticketQuery },
  responses: {
    200: json(ticketSchema, "The ticket."),
    ...errors("invalid_request", "ticket_not_found"),
  },
});

export function ticketRoutes(ctx: ApiCtx) {
  return router().openapi(route, async (c) => {
    const { ticket_id: tid } = c.req.valid("param");
    const { wait, seen } = c.req.valid("query");
    if (!TICKET_ID.test(tid)) throw new AppError("ticket_not_found", `no ticket ${tid}`);
    const ticket = wait
      ? await waitForChange(ctx.deps, ctx.events, tid, wait, { seen, hangup: hangupOf(c) })
      : await getTicket(ctx.deps, tid);
    if (!ticket) throw new AppError("ticket_not_found", `no ticket ${tid}`);
    return c.json(ticket, 200);
  });
}
