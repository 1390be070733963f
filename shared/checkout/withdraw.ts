import type { Deps } from "../deps.js";
import { parseTicketId } from "../keys.js";
import { defineScript, str } from "../scripts/define.js";
import { FINAL_TTL_S } from "../ticket/view.js";

const withdrawScript = defineScript({
  name: "withdraw",
  lua: new URL("./withdraw.lua", import.meta.url),
  helpers: ["now_ms"],
  keys: ["sale", "item", "pending", "ticket", "line", "idempotency"],
  args: ["seq", "finalTtlS"],
  // 'withdrawn', or 'kept' (a worker has it).
  decode: (raw) => ({ outcome: str(raw, 0) }),
});

/**
 * Takes back an admission whose ticket could not be queued (withdraw.lua):
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
    const { outcome } = await withdrawScript.run(
      deps.redis,
      {
        sale: keys.sale(t.saleId),
        item: keys.item(t.saleId, t.itemId),
        pending: keys.pending(t.saleId),
        ticket: keys.ticket(t.saleId, seq),
        line: keys.line(t.saleId, t.itemId),
        idempotency: keys.idempotency(t.saleId, t.userId, t.idempotencyKey ?? "-"),
      },
      { seq, finalTtlS: FINAL_TTL_S },
    );
    return outcome === "withdrawn";
  } catch {
    return false;
  }
}
