import { createRoute, type z } from "@hono/zod-openapi";
import { checkout } from "../../shared/checkout/checkout.js";
import { answerJson } from "../answer.js";
import { clientAddress } from "../client-address.js";
import type { ApiCtx } from "../context.js";
import { errorResponse } from "../errors.js";
import { shopperOf } from "../identity.js";
import { checkoutInput } from "../input.js";
import { hangupOf } from "../node-request.js";
import { errors, json, router, shopperSecurity } from "../openapi.js";
import { checkoutAccepted, checkoutBody, checkoutHeaders, checkoutQuery } from "../schemas/tickets.js";

// Documented, not validated by the framework: the input is the query form OR a
// JSON body, which a route's validators cannot express (they would demand the
// query from a JSON checkout, and read a stream for every body-less one on the
// hot path). The handler checks the same rules by hand (api/input.ts).
const route = createRoute({
  method: "post",
  path: "/checkout",
  tags: ["shoppers"],
  security: shopperSecurity,
  summary: "Check out an item",
  description:
    "Either the query form `?user_id=U&id=I` with no body, or a JSON body; either may name the sale (`sale_id`), which is needed when the item id is open in more than one sale (`409 sale_ambiguous` otherwise). Answers at once with a ticket to poll; with `?wait=MS`, once the ticket has its checkout code (two_step sales) or is final. Shortly before a sale opens (`FAIR_START_WINDOW_S`) the ticket waits in the fair-start room with `position` null; the room is shuffled at the opening.",
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
      "sale_ambiguous",
      "sold_out",
      "idempotency_conflict",
      "payload_too_large",
      "unsupported_media_type",
      "user_limit_reached",
      "rate_limited",
      "overloaded",
      "unavailable",
      "unauthorized",
    ),
  },
});

export function checkoutRoutes(ctx: ApiCtx) {
  const app = router();
  app.openAPIRegistry.registerPath(route);
  return app.post(route.path, async (c) => {
    const input = await checkoutInput(c, shopperOf(c));
    const answer = await checkout(ctx, input, {
      client: () => clientAddress(c, ctx.deps.cfg.TRUST_PROXY),
      holdWait: (client) => ctx.waits.hold(client),
      hangup: () => hangupOf(c),
    });
    if ("refused" in answer) return errorResponse(c, answer.refused);
    const accepted = answer.accepted satisfies z.output<typeof checkoutAccepted>;
    return answerJson(c, accepted, 202, { Location: accepted.poll_url });
  });
}
