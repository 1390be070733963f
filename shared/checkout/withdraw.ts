import type { Deps } from "../deps.js";
import { parseTicketId } from "../keys.js";
import { FINAL_TTL_S } from "../tickets/view.js";

/**
 * Takes back an admission whose ticket could not be queued (shared/lua/withdraw.lua):
 * true when withdrawn, so nothing is left that could later buy; false when a worker has
 * the ticket already, or Redis could not be asked (then the ticket stands, still queued,
 * and the sweeper gives it a job: the checkout is an acceptance after all).
 */
export async function withdraw(
  deps: Pick<Deps, "redis" | "keys">,
  t: { ticketId: string; saleId: string; itemId: string; userId: string; idempotencyKey?: string },
): Promise<boolean> {
  const { keys } = deps;
  const seq = parseTicketId(t.ticketId)?.seq ?? "";
  try {
    const [outcome] = (await deps.redis.run(
      "withdraw",
      [
        keys.sale(t.saleId),
        keys.item(t.saleId, t.itemId),
        keys.pending(t.saleId),
        keys.ticket(t.saleId, seq),
        keys.line(t.saleId, t.itemId),
        keys.idempotency(t.saleId, t.userId, t.idempotencyKey ?? "-"),
      ],
      [seq, FINAL_TTL_S],
    )) as string[];
    return outcome === "withdrawn";
  } catch {
    return false;
  }
}
