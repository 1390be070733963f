import { createRoute, type z } from "@hono/zod-openapi";
import { admit } from "../../shared/checkout/admit.js";
import { takeCheckoutToken } from "../../shared/checkout/rate-limit.js";
import { AppError } from "../../shared/errors.js";
import { type Standing, type Stock, standing } from "../../shared/tickets/standing.js";
import { getTicket, type TicketStatus } from "../../shared/tickets/view.js";
import { clientAddress } from "../client-address.js";
import type { ApiCtx } from "../context.js";
import { errors, json, router } from "../openapi.js";
import { checkoutAccepted, checkoutBody, checkoutHeaders, checkoutQuery } from "../schemas/tickets.js";
import { jsonBody, parse } from "../validation.js";

// Documented, not validated by the framework: the input is the query form OR a
// JSON body, which a route's validators cannot express (they would demand the
// query from a JSON checkout, and read a stream for every body-less one on the
// hot path). The handler parses with these same schemas.
const route = createRoute({
  method: "post",
  path: "/checkout",
  tags: ["shoppers"],
  summary: "Check out an item",
  description:
    "Either the query form `?user_id=U&id=I` with no body, or a JSON body. Answers at once with a ticket to poll.",
  request: {
    query: checkoutQuery,
    headers: checkoutHeaders,
    body: { required: false, content: { "application/json": { schema: checkoutBody } } },
  },
  responses: {
    202: {
      ...json(checkoutAccepted, "Accepted and queued; `Location` is the ticket's URL."),
      headers: { Location: { schema: { type: "string" }, description: "The ticket's URL." } },
    },
    ...errors(
      "invalid_request",
      "item_not_found",
      "sale_not_active",
      "sold_out",
      "idempotency_conflict",
      "payload_too_large",
      "unsupported_media_type",
      "user_limit_reached",
      "rate_limited",
      "overloaded",
      "unavailable",
    ),
  },
});

export function checkoutRoutes(ctx: ApiCtx) {
  const app = router();
  app.openAPIRegistry.registerPath(route);
  return app.post(route.path, async (c) => {
    const body = await jsonBody(c);
    const input =
      body === undefined
        ? (() => {
            const q = parse(checkoutQuery, c.req.query(), "query");
            // Both are present: checkoutQuery requires them.
            return { user_id: q.user_id as string, item_id: (q.id ?? q.item_id) as string };
          })()
        : parse(checkoutBody, body, "body");
    const { "idempotency-key": key } = parse(
      checkoutHeaders,
      { "idempotency-key": c.req.header("idempotency-key") },
      "headers",
    );
    try {
      await takeCheckoutToken(ctx.deps, {
        userId: input.user_id,
        client: clientAddress(c, ctx.deps.cfg.TRUST_PROXY),
      });
    } catch (err) {
      // Counted, but not written to PostgreSQL: a flood of refusals must not become a flood of rows.
      if (err instanceof AppError) ctx.counters.inc("checkouts_total", { outcome: err.code });
      throw err;
    }
    const at = new Date();
    try {
      const a = await admit(ctx.deps, ctx.directory, {
        userId: input.user_id,
        itemId: input.item_id,
        ...(key ? { idempotencyKey: key } : {}),
      });
      let status: TicketStatus = "queued";
      let where: Standing = standing(status, a.position, a.gap, a.lastLeft);
      let stock: Stock | null = a.stock;
      if (a.replayed) {
        const t = await getTicket(ctx.deps, a.ticketId);
        status = t?.status ?? "queued";
        where = t ?? standing(status, null, null, null);
        stock = t?.stock ?? null;
      } else {
        await ctx.enqueuer.enqueue({
          ticketId: a.ticketId,
          saleId: a.saleId,
          itemId: input.item_id,
          userId: input.user_id,
        });
        ctx.attempts.record({ ...base(a.saleId), ticketId: a.ticketId, outcome: "accepted" });
        ctx.counters.inc("checkouts_total", { outcome: "accepted" });
      }
      const pollUrl = `/tickets/${a.ticketId}`;
      c.header("Location", pollUrl);
      const accepted = {
        ticket_id: a.ticketId,
        status,
        position: where.position,
        eta_ms: where.eta_ms,
        stock,
        poll_url: pollUrl,
        // A replayed ticket that is already final has nothing left to poll for.
        poll_after_ms: where.poll_after_ms ?? 0,
      } satisfies z.output<typeof checkoutAccepted>;
      return c.json(accepted, 202);
    } catch (err) {
      if (err instanceof AppError) {
        ctx.attempts.record({ ...base(null), ticketId: null, outcome: err.code });
        ctx.counters.inc("checkouts_total", { outcome: err.code });
      }
      throw err;
    }

    function base(saleId: string | null) {
      return { saleId, itemId: input.item_id, userId: input.user_id, at };
    }
  });
}
