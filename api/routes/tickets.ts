import { createRoute } from "@hono/zod-openapi";
import { AppError } from "../../shared/errors.js";
import { TICKET_ID } from "../../shared/keys.js";
import { getTicket } from "../../shared/ticket/view.js";
import { waitForChange } from "../../shared/ticket/wait.js";
import { answerJson } from "../answer.js";
import { clientAddress } from "../client-address.js";
import type { ApiCtx } from "../context.js";
import { shopperOf, visibleTo } from "../identity.js";
import { ticketQuery } from "../input.js";
import { hangupOf } from "../node-request.js";
import { errors, json, router, shopperSecurity } from "../openapi.js";
import { ticketParams, ticketQuery as ticketQuerySchema, ticketSchema } from "../schemas/tickets.js";

// Documented with these schemas; checked by hand (api/input.ts), as the hottest read.
const route = createRoute({
  method: "get",
  path: "/tickets/{ticket_id}",
  tags: ["shoppers"],
  security: shopperSecurity,
  summary: "Poll a ticket",
  description:
    "With `?wait=MS`, a long poll: the answer comes the moment the ticket's status changes (pushed from Redis, not re-read in a loop), or after MS. With `&seen=S` too, the moment its status is not S, the one the client last saw (at once if it already changed).",
  request: { params: ticketParams, query: ticketQuerySchema },
  responses: {
    200: json(ticketSchema, "The ticket."),
    ...errors("invalid_request", "ticket_not_found", "rate_limited", "unauthorized"),
  },
});

export function ticketRoutes(ctx: ApiCtx) {
  const app = router();
  app.openAPIRegistry.registerPath(route);
  return app.get("/tickets/:ticket_id", async (c) => {
    const tid = c.req.param("ticket_id") ?? "";
    const { wait, seen } = ticketQuery(c);
    if (!TICKET_ID.test(tid)) throw new AppError("ticket_not_found", `no ticket ${tid}`);
    // With shopper identity, only the ticket's owner may read or wait on it: looked at before
    // waiting (that read is the answer when there is no wait).
    const readFirst = !wait || shopperOf(c) !== undefined;
    let ticket = readFirst ? await getTicket(ctx.deps, tid) : null;
    if (readFirst && !visibleTo(c, ticket)) throw new AppError("ticket_not_found", `no ticket ${tid}`);
    if (wait) {
      const release = ctx.waits.hold(clientAddress(c, ctx.deps.cfg.TRUST_PROXY));
      try {
        ticket = await waitForChange(ctx.deps, ctx.events, tid, wait, { seen, hangup: hangupOf(c) });
      } finally {
        release();
      }
    }
    if (!ticket) throw new AppError("ticket_not_found", `no ticket ${tid}`);
    return answerJson(c, ticket, 200);
  });
}
