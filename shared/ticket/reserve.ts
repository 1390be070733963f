import type { Deps } from "../deps.js";
import { defineBatchScript, type ScriptResult, str } from "../scripts/define.js";
import { newCodeSecret } from "./codes.js";
import type { TicketKeys } from "./ticket-keys.js";
import { FINAL_TTL_S } from "./view.js";

/** What reserving did for one ticket. */
export interface Reservation {
  /**
   * 'reserved' (a unit is held for it), 'held' (a two_step sale's unit, behind a code:
   * see `hold`), 'waiting' (on the item's waitlist), 'rejected', 'error', or the
   * ticket's status when it was no longer queued ('paying', 'purchased', 'failed';
   * 'missing' with no ticket).
   */
  state: string;
  /** Rejected by this call: why (none when it was rejected before). */
  reason?: string;
  /** Error: what failed (the ticket alone; the caller retries it). */
  error?: string;
  /** Held: the code's secret, when the hold ends (ms, Redis clock), and whether POST /purchase confirmed it. */
  hold?: { secret: string; expiresAt: number; confirmed: boolean };
}

function reservation(raw: ScriptResult): Reservation {
  const state = str(raw, 0) || "missing";
  if (state === "held")
    return {
      state,
      hold: { secret: str(raw, 1), expiresAt: Number(str(raw, 2)), confirmed: str(raw, 3) === "1" },
    };
  if (state === "rejected" && str(raw, 1)) return { state, reason: str(raw, 1) };
  if (state === "error") return { state, error: str(raw, 1) };
  return { state };
}

const reserveScript = defineBatchScript({
  name: "reserve",
  lua: new URL("./reserve.lua", import.meta.url),
  helpers: ["now_ms", "left_line"],
  keys: ["sale", "held", "pending", "saleMode"],
  args: ["finalTtlS", "events"],
  each: { keys: ["item", "ticket", "waitlist", "line"], args: ["seq", "codeSecret"] },
  decode: (raw) => (Array.isArray(raw) ? raw.map(reservation) : []),
});

/** Reserves a unit for one queued ticket (see reserveMany). */
export async function reserve(deps: Pick<Deps, "redis">, k: TicketKeys): Promise<Reservation> {
  const [out] = await reserveMany(deps, [k]);
  return out ?? { state: "missing" };
}

/**
 * Reserves for the tickets of one sale in one call, in the order given (ticket order
 * within a batch job); one answer per ticket. A unit moves from available to reserved,
 * or the ticket waits for one, or is rejected (sold out, its user's limit, the sale closed).
 */
export async function reserveMany(deps: Pick<Deps, "redis">, ks: TicketKeys[]): Promise<Reservation[]> {
  const [first] = ks;
  if (!first) return [];
  return reserveScript.run(
    deps.redis,
    { sale: first.sale, held: first.held, pending: first.pending, saleMode: first.mode },
    { finalTtlS: FINAL_TTL_S, events: first.events },
    ks.map((k) => ({
      keys: { item: k.item, ticket: k.ticket, waitlist: k.waitlist, line: k.line },
      args: { seq: k.seq, codeSecret: newCodeSecret() },
    })),
  );
}
