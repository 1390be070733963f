import { createRoute } from "@hono/zod-openapi";
import { AppError } from "../../shared/errors.js";
import { FINAL, getTicket } from "../../shared/tickets/view.js";
import { sleep } from "../../shared/time.js";
import type { ApiCtx } from "../context.js";
import { errors, json, router } from "../openapi.js";
import { ticketParams, ticketQuery, ticketSchema } from "../schemas/tickets.js";

// How often a long poll looks at the ticket again.
const WAIT_STEP_MS = 25;
const TICKET_ID = /^[0-9]{1,18}-[0-9]{1,18}$/;

const route = createRoute({
  method: "get",
  path: "/tickets/{ticket_id}",
  tags: ["shoppers"],
  summary: "Poll a ticket",
  request: { params: ticketParams, query: ticketQuery },
  responses: {
    200: json(ticketSchema, "The ticket."),
    ...errors("invalid_request", "ticket_not_found"),
  },
});

export function ticketRoutes(ctx: ApiCtx) {
  return router().openapi(route, async (c) => {
    const { ticket_id: tid } = c.req.valid("param");
    const { wait } = c.req.valid("query");
    const notFound = () => new AppError("ticket_not_found", `no ticket ${tid}`);
    if (!TICKET_ID.test(tid)) throw notFound();
    let ticket = await getTicket(ctx.deps, tid);
    if (!ticket) throw notFound();
    if (wait && !FINAL.has(ticket.status)) {
      // Return as soon as the status changes, or when the wait is over.
      const first = ticket.status;
      const deadline = Date.now() + wait;
      while (Date.now() < deadline && !c.req.raw.signal.aborted) {
        await sleep(Math.min(WAIT_STEP_MS, deadline - Date.now()));
        const next = await getTicket(ctx.deps, tid);
        if (!next) break;
        ticket = next;
        if (next.status !== first) break;
      }
    }
    return c.json(ticket, 200);
  });
}
