import type { Config } from "../config.js";
import type { Keys } from "../keys.js";
import { createRedis } from "../redis.js";

// Ticket changes pushed by the Lua scripts (PUBLISH on each sale's events channel,
// "seq:status:ms" words) fanned out to the waits of one process. One subscriber
// connection per process, however many waits are open: a wait is an entry in a
// map, not a Redis connection.

/** A status a ticket moved to, and when (ms, Redis clock). */
export interface Change {
  status: string;
  at: number;
}

/** One open wait on one ticket. */
export interface Watch {
  /**
   * The changes since the last call (or since the watch began), as soon as there
   * is one; null when `ms` pass, `signal` aborts or the process stops first. An
   * empty list means "look again" (the subscription was re-established and may
   * have missed something). A change may be one the caller already read.
   */
  next(ms: number, signal?: AbortSignal): Promise<Change[] | null>;
  /** True once closed, by the caller or because the process is stopping. */
  ended(): boolean;
  close(): void;
}

export interface TicketEvents {
  /** Watches a ticket; resolves once the subscription is live, so a change after that is never missed. */
  watch(ticketId: string): Promise<Watch>;
  /** Open watches, for tests and metrics. */
  size(): number;
  /** Ends every watch (they resolve false) and the subscriber connection. */
  close(): Promise<void>;
}

// A change, [] for "look again", or null to end the wait.
type Wake = (change: Change | null | "resync") => void;

export function createTicketEvents(cfg: Config, keys: Keys): TicketEvents {
  const byTicket = new Map<string, Set<Wake>>();
  let open = 0;
  let closed = false;
  let sub: ReturnType<typeof createRedis> | null = null;
  let subscribed: Promise<void> | null = null;

  const wakeAll = () => {
    for (const set of byTicket.values()) for (const wake of set) wake("resync");
  };

  const onMessage = (_pattern: string, channel: string, message: string) => {
    // "<prefix>:{s<sale>}:events" → the sale id, which starts every ticket id of the sale.
    const sale = /\{s([0-9]+)\}:events$/.exec(channel)?.[1];
    if (!sale) return;
    for (const word of message.split(" ")) {
      const [seq, status = "", at = "0"] = word.split(":");
      const set = byTicket.get(`${sale}-${seq}`);
      if (set) for (const wake of set) wake({ status, at: Number(at) });
    }
  };

  const subscribe = () => {
    if (subscribed) return subscribed;
    sub = createRedis(cfg, { name: `${keys.prefix}:ticket-events` });
    sub.on("pmessage", onMessage);
    // ioredis subscribes again after a reconnect, but what was published meanwhile is
    // lost: every wait looks at its ticket again.
    let first = true;
    sub.on("ready", () => {
      if (!first) wakeAll();
      first = false;
    });
    subscribed = sub.psubscribe(keys.eventsPattern).then(
      () => undefined,
      (err: unknown) => {
        // Let the next watch try again rather than caching a failure.
        sub?.disconnect();
        sub = null;
        subscribed = null;
        throw err;
      },
    );
    return subscribed;
  };

  return {
    size: () => open,
    async watch(ticketId) {
      if (closed) throw new Error("ticket events closed");
      // Registered before the subscription is confirmed: nothing published after it goes unseen.
      // A ticket has a handful of statuses in its life, so this never grows far.
      let pending: Change[] | null = null;
      let waiter: ((changes: Change[] | null) => void) | null = null;
      const wake: Wake = (change) => {
        if (change !== null) {
          pending ??= [];
          if (change !== "resync") pending.push(change);
        }
        if (!waiter) return;
        const w = waiter;
        const got = pending;
        waiter = null;
        pending = null;
        w(got);
      };
      const set = byTicket.get(ticketId) ?? new Set<Wake>();
      byTicket.set(ticketId, set);
      set.add(wake);
      open++;
      let done = false;
      const close = () => {
        if (done) return;
        done = true;
        open--;
        set.delete(wake);
        if (set.size === 0 && byTicket.get(ticketId) === set) byTicket.delete(ticketId);
        wake(null);
      };
      try {
        await subscribe();
      } catch (err) {
        close();
        throw err;
      }
      return {
        close,
        ended: () => done || closed,
        next(ms, signal) {
          if (pending || done || closed || signal?.aborted) {
            const got = done ? null : pending;
            pending = null;
            return Promise.resolve(got);
          }
          return new Promise<Change[] | null>((resolve) => {
            const finish = (got: Change[] | null) => {
              clearTimeout(timer);
              signal?.removeEventListener("abort", onAbort);
              if (waiter === finish) waiter = null;
              resolve(got);
            };
            const onAbort = () => finish(null);
            const timer = setTimeout(() => finish(null), Math.max(0, ms));
            signal?.addEventListener("abort", onAbort, { once: true });
            waiter = finish;
          });
        },
      };
    },
    async close() {
      closed = true;
      for (const set of byTicket.values()) for (const wake of set) wake(null);
      const s = sub;
      sub = null;
      subscribed = null;
      if (s) await s.quit().catch(() => s.disconnect());
    },
  };
}
