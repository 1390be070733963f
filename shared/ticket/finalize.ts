import type { Deps } from "../deps.js";
import { defineBatchScript, type ScriptResult, str } from "../scripts/define.js";
import type { TicketKeys } from "./ticket-keys.js";
import { FINAL_TTL_S } from "./view.js";

export interface Finalized {
  /** 'purchased', or 'noop' when the ticket was no longer paying (finalized before). */
  done: string;
  /** When it sold the item's last unit, the seqs of the waiters it rejected. */
  rejected: string[];
  /** done 'error': why this ticket could not be finalized (its settlement is retried). */
  why?: string;
}

function finalized(raw: ScriptResult): Finalized {
  const rejected = Array.isArray(raw) ? raw[2] : undefined;
  const why = str(raw, 3);
  return {
    done: str(raw, 0),
    rejected: Array.isArray(rejected) ? rejected.map(String) : [],
    ...(why ? { why } : {}),
  };
}

const finalizeScript = defineBatchScript({
  name: "finalize",
  lua: new URL("./finalize.lua", import.meta.url),
  helpers: ["now_ms"],
  keys: ["sale", "pending"],
  args: ["ticketPrefix", "finalTtlS", "events"],
  each: { keys: ["item", "ticket", "waitlist", "line"], args: ["purchaseId", "seq"] },
  decode: (raw) => (Array.isArray(raw) ? raw.map(finalized) : []),
});

/** Mirrors a committed purchase in Redis: the ticket is purchased, its unit sold. */
export async function finalize(
  deps: Pick<Deps, "redis">,
  k: TicketKeys,
  purchaseId: string,
): Promise<Finalized> {
  const [out] = await finalizeMany(deps, [{ k, purchaseId }]);
  return out ?? { done: "noop", rejected: [] };
}

/** Mirrors committed purchases of one sale in Redis, in one call. */
export async function finalizeMany(
  deps: Pick<Deps, "redis">,
  done: { k: TicketKeys; purchaseId: string }[],
): Promise<Finalized[]> {
  const first = done[0]?.k;
  if (!first) return [];
  return finalizeScript.run(
    deps.redis,
    { sale: first.sale, pending: first.pending },
    { ticketPrefix: first.ticketPrefix, finalTtlS: FINAL_TTL_S, events: first.events },
    done.map(({ k, purchaseId }) => ({
      keys: { item: k.item, ticket: k.ticket, waitlist: k.waitlist, line: k.line },
      args: { purchaseId, seq: k.seq },
    })),
  );
}
