import type { Deps } from "../deps.js";
import { defineBatchScript, type ScriptResult, str } from "../scripts/define.js";
import type { TicketKeys } from "../ticket/ticket-keys.js";

/** How recording one successful payment went. */
export interface Paid {
  /** 'paid', 'late' (the payment must not become a purchase), or 'error'. */
  outcome: string;
  /**
   * Late: the ticket's status ('paying' when its deadline passed, 'missing' with no
   * ticket), or 'other' (another attempt pays it). Error: what failed (this ticket alone).
   */
  why?: string;
}

function paidAnswer(raw: ScriptResult): Paid {
  const outcome = str(raw, 0);
  return outcome === "paid" ? { outcome } : { outcome, why: str(raw, 1) };
}

const markPaidScript = defineBatchScript({
  name: "markPaid",
  lua: new URL("./mark-paid.lua", import.meta.url),
  helpers: ["now_ms"],
  keys: [],
  args: [],
  each: { keys: ["ticket"], args: ["holder"] },
  decode: (raw) => (Array.isArray(raw) ? raw.map(paidAnswer) : []),
});

/** Records a successful payment (see markPaidMany); the slot is freed in the same round trip. */
export async function markPaid(
  deps: Pick<Deps, "redis" | "keys">,
  k: TicketKeys,
  holder: string,
): Promise<Paid> {
  // Sent together, one round trip: on one Redis they run in this order. In a cluster
  // they may cross, which is harmless: the payment has ended (the simulator counted
  // it out), and no attempt ever pays a ticket twice.
  const [out] = await Promise.all([
    markPaidMany(deps, [{ k, holder }]),
    deps.redis.zrem(deps.keys.slots, holder),
  ]);
  return out[0] ?? { outcome: "late", why: "missing" };
}

/**
 * Records successful payments of one sale as they answer, one call: paid, or late when
 * the ticket's deadline passed or another attempt pays it (the payment must not become
 * a purchase), or an error for a ticket whose hash could not be read (that ticket alone).
 */
export async function markPaidMany(
  deps: Pick<Deps, "redis">,
  paid: { k: TicketKeys; holder: string }[],
): Promise<Paid[]> {
  if (paid.length === 0) return [];
  return markPaidScript.run(
    deps.redis,
    {},
    {},
    paid.map((p) => ({ keys: { ticket: p.k.ticket }, args: { holder: p.holder } })),
  );
}
