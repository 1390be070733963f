import { Hono } from "hono";
import { z } from "zod";
import { admit } from "../../shared/checkout/admit.js";
import { AppError } from "../../shared/errors.js";
import { getTicket } from "../../shared/tickets/view.js";
import type { ApiCtx } from "../context.js";
import { id, jsonBody, parse } from "../validation.js";

const bodySchema = z.object({ user_id: id, item_id: id }).strict();
const querySchema = z.object({ user_id: id, id }).strict();
const idempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/, "must be 1-128 visible ASCII characters")
  .optional();

/** How long a client should wait before polling: short near the front, longer far back. */
export const pollAfterMs = (position: number) => Math.min(5000, Math.max(100, position * 20));

export function checkoutRoutes(ctx: ApiCtx) {
  return new Hono().post("/checkout", async (c) => {
    const body = await jsonBody(c);
    const query = c.req.query();
    const input =
      body === undefined
        ? (() => {
            const q = parse(querySchema, { user_id: query.user_id, id: query.id ?? query.item_id });
            return { user_id: q.user_id, item_id: q.id };
          })()
        : parse(bodySchema, body, "body");
    const key = parse(idempotencyKey, c.req.header("idempotency-key"), "Idempotency-Key");
    const at = new Date();
    try {
      const a = await admit(ctx.deps, ctx.directory, {
        userId: input.user_id,
        itemId: input.item_id,
        ...(key ? { idempotencyKey: key } : {}),
      });
      let status = "queued";
      let position: number | null = a.position;
      if (a.replayed) {
        const t = await getTicket(ctx.deps, a.ticketId);
        status = t?.status ?? "queued";
        position = t?.position ?? null;
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
      return c.json(
        {
          ticket_id: a.ticketId,
          status,
          position,
          poll_url: pollUrl,
          poll_after_ms: pollAfterMs(position ?? 1),
        },
        202,
      );
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
