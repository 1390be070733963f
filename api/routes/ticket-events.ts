import { createRoute } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { AppError } from "../../shared/errors.js";
import { parseTicketId, TICKET_ID } from "../../shared/keys.js";
import { clock } from "../../shared/ticket/deadlines.js";
import type { Change } from "../../shared/ticket/events.js";
import { standing } from "../../shared/ticket/standing.js";
import { FINAL, getTicket, type TicketView } from "../../shared/ticket/view.js";
import { clientAddress } from "../client-address.js";
import type { ApiCtx } from "../context.js";
import { visibleTo } from "../identity.js";
import { hangupOf } from "../node-request.js";
import { errors, router, shopperSecurity } from "../openapi.js";
import { ticketEvents, ticketParams } from "../schemas/tickets.js";

// A comment line this often keeps proxies and load balancers from closing an idle stream.
const HEARTBEAT_MS = 15_000;
// A queued ticket's stream re-reads its place at most this often, and only once its line has moved.
const MIN_LOOK_MS = 250;

const route = createRoute({
  method: "get",
  path: "/tickets/{ticket_id}/events",
  tags: ["shoppers"],
  security: shopperSecurity,
  summary: "Follow a ticket (server-sent events)",
  description:
    "The ticket now, then every change as it happens, until the ticket is final; then the stream closes.",
  request: { params: ticketParams },
  responses: {
    200: { description: "The stream.", content: { "text/event-stream": { schema: ticketEvents } } },
    ...errors("ticket_not_found", "rate_limited", "unauthorized"),
  },
});

/** What a subscriber sees change: the status, the place in line while queued, or a two_step code issued. */
const differs = (a: TicketView, b: TicketView) =>
  a.status !== b.status || a.position !== b.position || a.code !== b.code;

// Statuses only move forward; a late or repeated event never sends the stream back.
const STAGE: Record<string, number> = { queued: 0, reserved: 1, paying: 2 };
const stage = (status: string) => STAGE[status] ?? 3;

/**
 * A status the ticket passed through between two reads (reserved then paying in
 * the same millisecond): its event, with the fields it had then.
 */
function passed(now: TicketView, c: Change): TicketView {
  return {
    ...now,
    status: c.status as TicketView["status"],
    reason: null,
    purchase_id: null,
    ...standing(c.status, null, null, null),
    updated_at: new Date(c.at).toISOString(),
  };
}

export function ticketEventRoutes(ctx: ApiCtx) {
  const app = router();
  app.openAPIRegistry.registerPath(route);
  return app.get("/tickets/:ticket_id/events", async (c) => {
    const tid = c.req.param("ticket_id") ?? "";
    const notFound = () => new AppError("ticket_not_found", `no ticket ${tid}`);
    if (!TICKET_ID.test(tid)) throw notFound();
    // HEAD runs this handler and drops the body: a stream nobody reads would
    // never end, so answer the headers alone.
    if (c.req.method === "HEAD") {
      if (!visibleTo(c, await getTicket(ctx.deps, tid))) throw notFound();
      return c.body(null, 200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    }
    const release = ctx.waits.hold(clientAddress(c, ctx.deps.cfg.TRUST_PROXY));
    // Watch first, then read: a change between the two still reaches the stream.
    const watch = await ctx.events.watch(tid).catch(() => {
      release();
      // Only while the API is stopping.
      throw new AppError("unavailable", "the server is stopping; try again", 1);
    });
    const line = ctx.events.followLine(parseTicketId(tid)?.saleId ?? "");
    // However the watch ends (the ticket final, the client gone, an error), the client's count drops.
    const end = () => {
      watch.close();
      line.close();
      release();
    };
    const first = await getTicket(ctx.deps, tid).catch((err: unknown) => {
      end();
      throw err;
    });
    // With shopper identity, only the ticket's owner may follow it.
    if (!first || !visibleTo(c, first)) {
      end();
      throw notFound();
    }
    // The client going away ends the watch: through Node's 'close' (cheaper than the
    // request's AbortSignal), and through the stream's own abort once it is open.
    const hangup = hangupOf(c);
    if (hangup?.closed) {
      end();
      return c.body(null, 200);
    }
    hangup?.on("close", end);
    return streamSSE(c, async (stream) => {
      stream.onAbort(end);
      let last = first;
      let wrote = clock();
      const send = async (t: TicketView) => {
        const id = `${t.status}:${t.position ?? ""}`;
        await stream.writeSSE({ event: t.status, id, data: JSON.stringify(t) });
        last = t;
        wrote = clock();
      };
      try {
        await send(first);
        while (!FINAL.has(last.status) && !watch.ended()) {
          // A queued ticket's place changes without an event of its own, when a ticket ahead
          // leaves the line: look again then, at most at its poll pace (so a stream never costs
          // more than a polling client would), and not at all while the line stands still.
          const look =
            last.status === "queued"
              ? Math.max(MIN_LOOK_MS, last.poll_after_ms ?? HEARTBEAT_MS)
              : HEARTBEAT_MS;
          const changes = await watch.next(clock() + Math.min(look, wrote + HEARTBEAT_MS - clock()));
          if (watch.ended()) break;
          // A lost subscription (a reconnect, a failover) comes back as an empty change list
          // and a moved line, so a read follows it too; a heartbeat alone reads nothing.
          if (changes || (last.status === "queued" && line.moved())) {
            const now = await getTicket(ctx.deps, tid);
            if (!now) break;
            for (const ch of changes ?? []) {
              if (stage(ch.status) > stage(last.status) && stage(ch.status) < stage(now.status))
                await send(passed(now, ch));
            }
            if (stage(now.status) >= stage(last.status) && differs(now, last)) await send(now);
          }
          if (clock() - wrote >= HEARTBEAT_MS) {
            await stream.write(": heartbeat\n\n");
            wrote = clock();
          }
        }
      } finally {
        hangup?.off("close", end);
        end();
      }
    });
  });
}
