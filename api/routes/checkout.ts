import { createRoute, type z } from "@hono/zod-openapi";
import { admit } from "../../shared/checkout/admit.js";
import { takeClientToken } from "../../shared/checkout/rate-limit.js";
import { withdraw } from "../../shared/checkout/withdraw.js";
import { AppError } from "../../shared/errors.js";
import { refOf } from "../../shared/keys.js";
import { redisRebuilding } from "../../shared/recovery/watch.js";
import { inRoom, type Standing, type Stock, standing } from "../../shared/tickets/standing.js";
import { getTicket, type TicketStatus, type TicketView } from "../../shared/tickets/view.js";
import { waitForAdmitted, waitForCode } from "../../shared/tickets/wait.js";
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

// One answer for every refusal from the sold-out memo.
const SOLD_OUT = new AppError("sold_out", "this item is sold out");

export function checkoutRoutes(ctx: ApiCtx) {
  const app = router();
  app.openAPIRegistry.registerPath(route);
  return app.post(route.path, async (c) => {
    const input = await checkoutInput(c, shopperOf(c));
    const { wait, idempotencyKey: key } = input;
    const at = Date.now();
    // "" = the item in whichever one sale has it (shared/checkout/sold-out.ts).
    const memoSale = input.saleId ?? "";
    // An item sold out a moment ago is refused from memory (a replay may still find its ticket),
    // answered here rather than thrown: in a flood this is nearly every request.
    if (!key && ctx.soldOut.has(memoSale, input.itemId)) {
      ctx.counters.inc("checkouts_total", { outcome: "sold_out" });
      ctx.attempts.record({ ...base(input.saleId ?? null), ticketId: null, outcome: "sold_out" });
      return errorResponse(c, SOLD_OUT);
    }
    // A waiting checkout holds a connection like a long poll: bounded per client, refused before anything is written.
    const client = clientAddress(c, ctx.deps.cfg.TRUST_PROXY);
    const release = wait ? ctx.waits.hold(client) : undefined;
    try {
      await takeClientToken(ctx.deps, client);
      const a = await admit(ctx.deps, ctx.directory, {
        userId: input.userId,
        itemId: input.itemId,
        ...(input.saleId ? { saleId: input.saleId } : {}),
        ...(key ? { idempotencyKey: key } : {}),
      });
      let status: TicketStatus = "queued";
      let where: Standing =
        a.defer === "room" ? inRoom(a.startsAt) : standing(status, a.position, a.gap, a.lastLeft);
      let stock: Stock | null = a.stock;
      // Two_step tickets carry their code, null until a unit is held; direct ones have no such fields.
      let code: Pick<TicketView, "code" | "expires_at"> = a.twoStep ? { code: null, expires_at: null } : {};
      const queue = async () => {
        // The fair-start room's opener queues a deferred ticket (worker/room-opener.ts).
        if (!a.defer) {
          const job = { ticketId: a.ticketId, saleId: a.saleId, itemId: input.itemId, userId: input.userId };
          try {
            await ctx.enqueuer.enqueue(job);
          } catch (err) {
            // Admitted but not queued: take the admission back and say so, leaving nothing that
            // could later buy; if it cannot be taken back, it stands and the sweeper queues it.
            if (await withdraw(ctx.deps, { ...job, ...(key ? { idempotencyKey: key } : {}) })) {
              ctx.deps.log.warn(
                { ticket: refOf(a.ticketId), err: String(err) },
                "checkout withdrawn: could not queue it",
              );
              throw new AppError("unavailable", "the checkout could not be queued; try again shortly", 1);
            }
          }
        }
        ctx.attempts.record({ ...base(a.saleId), ticketId: a.ticketId, outcome: "accepted" });
        ctx.counters.inc("checkouts_total", { outcome: "accepted" });
      };
      let t: TicketView | null | undefined;
      const hangup = hangupOf(c);
      if (a.replayed) {
        t = wait
          ? await waitForCode(ctx.deps, ctx.events, a.ticketId, wait, { hangup })
          : await getTicket(ctx.deps, a.ticketId);
      } else if (wait && !a.defer) {
        // The fast path, one request per purchase: the wait is registered before the ticket is queued.
        t = await waitForAdmitted(ctx.deps, ctx.events, a.ticketId, wait, {
          twoStep: a.twoStep,
          start: queue,
          hangup,
        });
      } else {
        await queue();
        // A ticket in the fair-start room may be queued by its opener at any moment: read, then wait.
        if (wait) t = await waitForCode(ctx.deps, ctx.events, a.ticketId, wait, { hangup });
      }
      if (t !== undefined) {
        status = t?.status ?? "queued";
        where = t ?? standing(status, null, null, null);
        stock = t?.stock ?? null;
        if (t && "code" in t) code = { code: t.code ?? null, expires_at: t.expires_at ?? null };
      }
      const pollUrl = `/tickets/${a.ticketId}`;
      const accepted = {
        ticket_id: a.ticketId,
        status,
        position: where.position,
        eta_ms: where.eta_ms,
        stock,
        poll_url: pollUrl,
        // A replayed ticket that is already final has nothing left to poll for.
        poll_after_ms: where.poll_after_ms ?? 0,
        // Read at the end of a wait or for a replay: a final answer says why, so no poll is needed for it.
        ...(t ? { reason: t.reason, purchase_id: t.purchase_id } : {}),
        ...code,
      } satisfies z.output<typeof checkoutAccepted>;
      return answerJson(c, accepted, 202, { Location: pollUrl });
    } catch (err) {
      // Redis restarted empty and is being rebuilt: the item is not gone, only not back yet.
      if (err instanceof AppError && err.code === "item_not_found" && (await redisRebuilding(ctx.deps)))
        throw new AppError("unavailable", "the shop is being restored; try again shortly", 1);
      if (err instanceof AppError) {
        ctx.counters.inc("checkouts_total", { outcome: err.code });
        // Only Redis's word starts the memo's clock, so stock added elsewhere is seen within its TTL.
        if (err.code === "sold_out") ctx.soldOut.remember(memoSale, input.itemId);
        // Counted (above), not written to PostgreSQL: a flood of refusals by the rate limit, or of
        // made-up item ids, must not become a flood of rows.
        if (err.code !== "rate_limited" && err.code !== "item_not_found")
          ctx.attempts.record({ ...base(input.saleId ?? null), ticketId: null, outcome: err.code });
      }
      throw err;
    } finally {
      release?.();
    }

    function base(saleId: string | null) {
      return { saleId, itemId: input.itemId, userId: input.userId, at };
    }
  });
}
