import type { Deps } from "../deps.js";
import { defineScript, type ScriptResult, str } from "../scripts/define.js";
import { newCodeSecret } from "./codes.js";
import type { TicketKeys } from "./ticket-keys.js";
import { FINAL_TTL_S } from "./view.js";

/** What releasing a ticket's unit did. */
export interface Released {
  /** 'handed' (to the earliest waiting ticket), 'restocked', 'voided' (left the stock), or 'noop'. */
  outcome: string;
  /** Handed: the seq of the ticket given the unit. */
  waiter?: string;
  /**
   * Noop, why nothing changed: 'early' (see `until`), 'paid' (a paid ticket is settled,
   * never failed), 'confirmed' (POST /purchase beat the hold's expiry), 'other' (another
   * attempt pays the ticket), or the ticket's status ('missing' with no ticket).
   */
  why?: string;
  /** Noop 'early': the payment's deadline or the hold's expiry (ms, Redis clock) not reached yet. */
  until?: number;
}

function released(raw: ScriptResult): Released {
  const outcome = str(raw, 0);
  if (outcome === "handed") return { outcome, waiter: str(raw, 1) };
  if (outcome !== "noop") return { outcome };
  const why = str(raw, 1);
  return why === "early" ? { outcome, why, until: Number(str(raw, 2)) } : { outcome, why };
}

const releaseScript = defineScript({
  name: "release",
  lua: new URL("./release.lua", import.meta.url),
  helpers: ["now_ms", "left_line", "hand_on"],
  keys: ["sale", "item", "held", "pending", "ticket", "waitlist", "line", "saleMode"],
  args: ["reason", "ticketPrefix", "holder", "finalTtlS", "mode", "events", "seq", "waiterSecret"],
  decode: released,
});

/**
 * Ends a ticket that holds a unit without a purchase. 'fail': the payment did not
 * go through; 'refuse': PostgreSQL refused this buyer; 'expire': a two_step hold was
 * not confirmed in time. Each time the unit goes to the earliest waiting ticket
 * (returned) or back to stock. 'void': PostgreSQL says the unit does not exist, so
 * it leaves the stock. A 'payment_timeout' before the payment's deadline by Redis's
 * clock does nothing and answers noop 'early' with the deadline: the caller asks again
 * later, and the attempt keeps its slot until then.
 */
export async function release(
  deps: Pick<Deps, "redis" | "keys">,
  k: TicketKeys,
  reason: string,
  holder: string,
  mode: "fail" | "refuse" | "void" | "expire" = "fail",
  // False when the caller freed the attempt's slot already (as the payment ended).
  freeSlot = true,
): Promise<Released> {
  const out = await releaseScript.run(
    deps.redis,
    {
      sale: k.sale,
      item: k.item,
      held: k.held,
      pending: k.pending,
      ticket: k.ticket,
      waitlist: k.waitlist,
      line: k.line,
      saleMode: k.mode,
    },
    {
      reason,
      ticketPrefix: k.ticketPrefix,
      holder,
      finalTtlS: FINAL_TTL_S,
      mode,
      events: k.events,
      seq: k.seq,
      waiterSecret: newCodeSecret(),
    },
  );
  // An expired hold never took a slot; a payment refused as early is still paying.
  if (holder && freeSlot && !(out.outcome === "noop" && out.why === "early")) {
    await deps.redis.zrem(deps.keys.slots, holder);
  }
  return out;
}
