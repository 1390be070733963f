// Where a queued ticket stands: its place in line, when it should be served, and
// when its client should ask again.

import { type ItemField, STOCK_FIELDS } from "../fields.js";

export interface Standing {
  /** 1 = next to be served: the tickets for the same item accepted earlier and still queued, plus this one. */
  position: number | null;
  /** Expected ms until the ticket leaves the line (reserved or rejected); null until a pace is measured. */
  eta_ms: number | null;
  /** When to poll again; null once the ticket is final. */
  poll_after_ms: number | null;
}

/** The item hash's fields (shared/fields.ts) read for a ticket: stock and line pace. */
export const ITEM_FIELDS = [...STOCK_FIELDS, "gap", "lt"] as const satisfies readonly ItemField[];

// Polls are never closer than this, however near the front...
const POLL_MIN_MS = 100;
// ...nor further apart than this, however far back: a client still hears of a sell-out soon.
const POLL_MAX_MS = 10_000;
// Without a measured pace, each place ahead is assumed to cost this much.
const POLL_PER_PLACE_MS = 20;
// A reserved or paying ticket ends with its payment (tens of ms to the payment timeout).
const POLL_IN_PAYMENT_MS = 250;

/**
 * Where a ticket in the fair-start room stands (queued, no place yet): nothing
 * changes before the opening at `opensAt` (ms), so its client asks again then.
 */
export function inRoom(opensAt: number, now = Date.now()): Standing {
  const poll = Math.min(POLL_MAX_MS, Math.max(POLL_MIN_MS, opensAt - now));
  return { position: null, eta_ms: null, poll_after_ms: poll };
}

/**
 * ETA: the line is served one ticket every `gap` ms (smoothed, measured in Redis
 * while someone waited); the ticket at position p leaves p gaps after the last
 * departure `lt`. Polling: at half the ETA (the answer cannot change much sooner),
 * so a line of N costs about (2/gap)·ln N polls a second, never more than one per
 * POLL_MIN_MS per client, and a far-back client still asks every POLL_MAX_MS.
 */
export function standing(
  status: string,
  position: number | null,
  gap: string | null | undefined,
  lt: string | null | undefined,
  now = Date.now(),
): Standing {
  if (status !== "queued" || position === null) {
    const live = status === "queued" || status === "reserved" || status === "paying";
    return { position: null, eta_ms: null, poll_after_ms: live ? POLL_IN_PAYMENT_MS : null };
  }
  let eta: number | null = null;
  if (gap) {
    const since = lt ? Math.max(0, now - Number(lt)) : 0;
    eta = Math.max(0, Math.round(position * Number(gap) - since));
  }
  const wanted = eta === null ? position * POLL_PER_PLACE_MS : eta / 2;
  const poll = Math.round(Math.min(POLL_MAX_MS, Math.max(POLL_MIN_MS, wanted)));
  return { position, eta_ms: eta, poll_after_ms: poll };
}
