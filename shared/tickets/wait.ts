import type { Deps } from "../deps.js";
import type { TicketEvents } from "./events.js";
import { FINAL, getTicket, type TicketView } from "./view.js";

type ViewDeps = Pick<Deps, "redis" | "keys" | "db">;

/**
 * A long poll: the ticket as soon as its status differs from the one it had when
 * the wait began, or as it is when `ms` pass. The watch is set before the first
 * read, so a change landing between the read and the wait still wakes it.
 * Null when there is no such ticket.
 */
export async function waitForChange(
  deps: ViewDeps,
  events: TicketEvents,
  id: string,
  ms: number,
  signal?: AbortSignal,
): Promise<TicketView | null> {
  // Without the subscription (Redis unreachable for it) the answer is simply the ticket now.
  const watch = await events.watch(id).catch(() => null);
  try {
    let ticket = await getTicket(deps, id);
    if (!ticket || !watch || FINAL.has(ticket.status)) return ticket;
    const first = ticket.status;
    const deadline = Date.now() + ms;
    // A wake-up may be for a change the first read already saw: re-read, and wait on if the status is the same.
    while (await watch.next(deadline - Date.now(), signal)) {
      const next = await getTicket(deps, id);
      if (!next) break;
      ticket = next;
      if (next.status !== first) break;
    }
    return ticket;
  } finally {
    watch?.close();
  }
}

/**
 * Checkout's `?wait`: the ticket once it has its checkout code (two_step sales) or is
 * final, or as it is when `ms` pass. Woken by the ticket's events like a long poll,
 * but looking at the code too: issuing one does not change the status.
 */
export async function waitForCode(
  deps: ViewDeps,
  events: TicketEvents,
  id: string,
  ms: number,
  signal?: AbortSignal,
): Promise<TicketView | null> {
  const watch = await events.watch(id).catch(() => null);
  try {
    const done = (t: TicketView | null) => !t || FINAL.has(t.status) || Boolean(t.code);
    let ticket = await getTicket(deps, id);
    if (done(ticket) || !watch) return ticket;
    const deadline = Date.now() + ms;
    while (await watch.next(deadline - Date.now(), signal)) {
      ticket = (await getTicket(deps, id)) ?? ticket;
      if (done(ticket)) break;
    }
    return ticket;
  } finally {
    watch?.close();
  }
}
