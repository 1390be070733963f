import { createRoute } from "@hono/zod-openapi";
import { purchase } from "../../shared/checkout/purchase.js";
import { takeClientToken } from "../../shared/checkout/rate-limit.js";
import { AppError } from "../../shared/errors.js";
import { getTicket } from "../../shared/ticket/view.js";
import { clientAddress } from "../client-address.js";
import type { ApiCtx } from "../context.js";
import { shopperOf } from "../identity.js";
import { errors, json, router, shopperSecurity } from "../openapi.js";
import { purchaseBody, purchaseQuery, ticketSchema } from "../schemas/tickets.js";
import { jsonBody, parse } from "../validation.js";

// Documented, not validated by the framework, for the reason given in checkout.ts:
// the code comes in the query (the contest's form) or in a JSON body.
const route = createRoute({
  method: "post",
  path: "/purchase",
  tags: ["shoppers"],
  security: shopperSecurity,
  summary: "Pay for a held unit (two_step sales)",
  description:
    "With the checkout code of a ticket holding a unit, `?code=C` or a JSON body: the payment is queued under the same slots as any other and the answer is the ticket. A code used again purchases nothing more and answers the same ticket. An unknown code, or one whose hold expired, is `404 code_not_found`. Each request takes a token from the client's rate-limit bucket, the one `POST /checkout` takes from (`RATE_CLIENT_PER_S`).",
  request: {
    query: purchaseQuery,
    body: { required: false, content: { "application/json": { schema: purchaseBody } } },
  },
  responses: {
    202: {
      ...json(
        ticketSchema,
        "The payment is queued (or was, for a code used before); `Location` is the ticket's URL.",
      ),
      headers: { Location: { schema: { type: "string" }, description: "The ticket's URL." } },
    },
    ...errors(
      "invalid_request",
      "code_not_found",
      "payload_too_large",
      "unsupported_media_type",
      "rate_limited",
      "unavailable",
      "unauthorized",
    ),
  },
});

export function purchaseRoutes(ctx: ApiCtx) {
  const app = router();
  app.openAPIRegistry.registerPath(route);
  return app.post(route.path, async (c) => {
    const body = await jsonBody(c);
    const code =
      body === undefined
        ? parse(purchaseQuery, c.req.query(), "query").code
        : parse(purchaseBody, body, "body").code;
    if (!code) throw new AppError("invalid_request", "code: is required");
    // The same per-client bucket as checkout, taken as checkout takes it: after the input is valid.
    await takeClientToken(ctx.deps, clientAddress(c, ctx.deps.cfg.TRUST_PROXY));
    // With shopper identity, only the ticket's owner may pay its hold.
    const id = await purchase(ctx.deps, ctx.queue, code, shopperOf(c));
    const ticket = await getTicket(ctx.deps, id);
    // Confirmed a moment ago, so the ticket is there unless Redis lost it since.
    if (!ticket) throw new AppError("code_not_found", "no such checkout code, or its hold has expired");
    c.header("Location", `/tickets/${id}`);
    return c.json(ticket, 202);
  });
}
