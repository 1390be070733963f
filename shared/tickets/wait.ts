import type { Deps } from "../deps.js";
import type { TicketEvents } from "./events.js";
import { FINAL, getTicket, type TicketView } from "./view.js";

type ViewDeps = Pick<Deps, "redis" | "keys" | "db">;

/**
 * The ticket once `settled(first, now)` holds, or as it is when `ms` pass. The
 * watch is set before the first read, so a change landing between the read and
 * the wait still wakes it; a wake-up may be for a change the first read already
 * saw, so each one re-reads and waits on if not settled. Null when there is no
 * such ticket.
 */
async function waitUntil(
  deps: ViewDeps,
  events: TicketEvents,
  id: string,
  ms: number,
  settled: (first: TicketView, now: TicketView) => boolean,
  signal?: AbortSignal,
): Promise<TicketView | null> {
  // Without the subscription (Redis unreachable for it) the answer is simply the ticket now.
  const watch = await events.watch(id).catch(() => null);
  try {
    const first = await getTicket(deps, id);
    if (!first || !watch || settled(first, first)) return first;
    let ticket = first;
    const deadline = Date.now() + ms;
    while (await watch.next(deadline - Date.now(), signal)) {
      const next = await getTicket(deps, id);
      if (!next) break;
      ticket = next;
      if (settled(first, next)) break;
    }
    return ticket;
  } finally {
    watch?.close();
  }
}

/**
 * A long poll: the ticket as soon as its status differs from `seen` (the one the
 * client last saw), or when not given, from the one it had when the wait began.
 */
export function waitForChange(
  deps: ViewDeps,
  events: TicketEvents,
  id: string,
  ms: number,
  signal?: AbortSignal,
  seen?: string,
) {
  return waitUntil(
    deps,
    events,
    id,
    ms,
    (first, t) => FINAL.has(t.status) || t.status !== (seen ?? first.status),
    signal,
  );
}

/**
 * Checkout's `?wait`: the ticket once it has its checkout code (two_step sales) or is
 * final. Issuing a code does not change the status, so this looks at the code too.
 */
export function waitForCode(
  deps: ViewDeps,
  events: TicketEvents,
  id: string,
  ms: number,
  signal?: AbortSignal,
) {
  return waitUntil(deps, events, id, ms, (_, t) => FINAL.has(t.status) || Boolean(t.code), signal);
}
