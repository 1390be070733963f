import type { Deps } from "../deps.js";
import { withTimeout } from "../time.js";
import { clock } from "./deadlines.js";
import type { TicketEvents, Wants, Watch } from "./events.js";
import { FINAL, getTicket, type TicketView } from "./view.js";

type ViewDeps = Pick<Deps, "redis" | "keys" | "db">;

/**
 * Tells a wait that its client went away: a Node ServerResponse (it emits 'close'
 * when the connection ends), or anything shaped like it. An event listener costs
 * far less than the AbortSignal a WHATWG Request would build for the same news.
 */
export interface Hangup {
  readonly closed?: boolean;
  on(event: "close", listener: () => void): unknown;
  off(event: "close", listener: () => void): unknown;
}

// Before a process's subscription is first confirmed, a watch waits for it: bounded, so a
// subscriber that never answers cannot hold a checkout back from its queue.
const SUBSCRIBE_WAIT_MS = 1000;

/** A live watch, or null when the subscription is not confirmed within SUBSCRIBE_WAIT_MS (or failed). */
async function watchSoon(events: TicketEvents, id: string): Promise<Watch | null> {
  const pending = events.watch(id).catch(() => null);
  // The usual case: subscribed long ago, so no timer per request.
  if (events.live()) return pending;
  const watch = await withTimeout(pending, SUBSCRIBE_WAIT_MS, "subscription").catch(() => null);
  // Given up on: should it go live after all, it is closed at once.
  if (!watch) void pending.then((w) => w?.close());
  return watch;
}

interface Until {
  /** Only these statuses can end the wait; others do not wake it (so cost no read). */
  wants: Wants;
  /** Whether the ticket as read ends the wait (a wake-up may be for a change already read). */
  settled: (t: TicketView) => boolean;
}

/**
 * Waits on a live watch until a read ticket is `settled`, `deadline` passes or the
 * client hangs up. `first` is the ticket read after the watch went live, or
 * undefined when the caller knows it is not settled and has not changed since (a
 * ticket just admitted and not yet queued): then nothing is read before a wake-up,
 * and a wait that runs out reads the ticket once at its end. Null when there is no
 * such ticket, or its client is gone.
 */
async function waitOn(
  deps: ViewDeps,
  watch: Watch,
  id: string,
  deadline: number,
  until: Until,
  first: TicketView | undefined,
  hangup?: Hangup,
): Promise<TicketView | null> {
  let gone = false;
  const onHangup = () => {
    gone = true;
    watch.close();
  };
  if (hangup?.closed) return null;
  hangup?.on("close", onHangup);
  try {
    let ticket = first;
    while (await watch.next(deadline, until.wants)) {
      const now = await getTicket(deps, id);
      if (!now) break;
      ticket = now;
      if (until.settled(now)) return now;
    }
    if (gone) return null;
    // Run out: read once more, as a change this wait did not care about may have come since the last read.
    return (await getTicket(deps, id)) ?? ticket ?? null;
  } finally {
    hangup?.off("close", onHangup);
  }
}

/**
 * Watches, reads once the watch is live (so a change landing between the read and
 * the wait still wakes it), and waits on if the ticket is not settled yet. Without
 * the subscription (Redis unreachable for it) the answer is simply the ticket now.
 */
async function readThenWait(
  deps: ViewDeps,
  events: TicketEvents,
  id: string,
  ms: number,
  until: (first: TicketView) => Until,
  hangup?: Hangup,
): Promise<TicketView | null> {
  const deadline = clock() + ms;
  const watch = await watchSoon(events, id);
  try {
    const first = await getTicket(deps, id);
    if (!first || !watch) return first;
    const u = until(first);
    if (u.settled(first)) return first;
    return await waitOn(deps, watch, id, deadline, u, first, hangup);
  } finally {
    watch?.close();
  }
}

const isFinal: Wants = (status) => FINAL.has(status);

/**
 * A long poll: the ticket as soon as its status differs from `seen` (the one the
 * client last saw), or when not given, from the one it had when the wait began.
 * Only an event naming another status wakes it.
 */
export function waitForChange(
  deps: ViewDeps,
  events: TicketEvents,
  id: string,
  ms: number,
  opts: { seen?: string; hangup?: Hangup } = {},
) {
  return readThenWait(
    deps,
    events,
    id,
    ms,
    (first) => {
      const base = opts.seen ?? first.status;
      const wants: Wants = (status) => status !== base || FINAL.has(status);
      return { wants, settled: (t) => wants(t.status) };
    },
    opts.hangup,
  );
}

/** Checkout's `?wait` ends at a final status, or once a two_step ticket holds its code. */
const codeOrFinal = (twoStep: boolean): Until => ({
  // A code is issued with a 'reserved' event (when the unit is held, or again when a
  // unit handed over earlier gets its code); in a direct sale only a final status ends it.
  wants: twoStep ? (status) => status === "reserved" || FINAL.has(status) : isFinal,
  // Issuing a code does not change the status, so this looks at the code too.
  settled: (t) => FINAL.has(t.status) || Boolean(t.code),
});

/**
 * Checkout's `?wait` for a ticket it has just admitted: the watch goes live first,
 * then `start` queues the ticket, so however soon a worker finishes it, its change
 * is seen. Nothing is read before the wait (the ticket is known to be queued and
 * untouched until `start`); a wake-up that can end it reads the ticket, and so
 * does a wait that runs out. `start`'s error leaves the wait and is the caller's.
 */
export async function waitForAdmitted(
  deps: ViewDeps,
  events: TicketEvents,
  id: string,
  ms: number,
  opts: { twoStep: boolean; start: () => Promise<void>; hangup?: Hangup },
): Promise<TicketView | null> {
  const deadline = clock() + ms;
  const watch = await watchSoon(events, id);
  try {
    await opts.start();
    if (!watch) return await getTicket(deps, id);
    return await waitOn(deps, watch, id, deadline, codeOrFinal(opts.twoStep), undefined, opts.hangup);
  } finally {
    watch?.close();
  }
}

/**
 * Checkout's `?wait` for a ticket it did not just queue (a replayed Idempotency-Key,
 * or one the fair-start room's opener will queue): read first, as a long poll does.
 * Its sale's mode is not known here, so a 'reserved' event wakes it in any sale.
 */
export function waitForCode(
  deps: ViewDeps,
  events: TicketEvents,
  id: string,
  ms: number,
  opts: { hangup?: Hangup } = {},
) {
  return readThenWait(deps, events, id, ms, () => codeOrFinal(true), opts.hangup);
}
