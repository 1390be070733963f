import { Hono } from "hono";
import { z } from "zod";
import { AppError } from "../../shared/errors.js";
import { FINAL, getTicket } from "../../shared/tickets/view.js";
import { sleep } from "../../shared/time.js";
import type { ApiCtx } from "../context.js";
import { parse } from "../validation.js";

const MAX_WAIT_MS = 30_000;
// How often a long poll looks at the ticket again.
const WAIT_STEP_MS = 25;

const query = z.object({ wait: z.coerce.number().int().min(0).max(MAX_WAIT_MS).optional() });
const ticketIdParam = z.string().regex(/^[0-9]{1,18}-[0-9]{1,18}$/, "is not a ticket id");

export function ticketRoutes(ctx: ApiCtx) {
  return new Hono().get("/tickets/:ticket_id", async (c) => {
    const tid = c.req.param("ticket_id");
    const { wait } = parse(query, c.req.query());
    const notFound = () => new AppError("ticket_not_found", `no ticket ${tid}`);
    if (!ticketIdParam.safeParse(tid).success) throw notFound();
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
    return c.json(ticket);
  });
}
