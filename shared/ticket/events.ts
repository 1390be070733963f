import type { Config } from "../config.js";
import { type Keys, refOf } from "../keys.js";
import { createRedis } from "../redis.js";
import { clock, createDeadlines } from "./deadlines.js";

// Ticket changes pushed by the Lua scripts (PUBLISH on each sale's events channel,
// "seq:status:ms" words) fanned out to the waits of one process. One subscriber
// connection per process, however many waits are open: a wait is an entry in a
// map, not a Redis connection; and one timer (./deadlines.ts) ends every wait
// whose time is up, not a timer per wait.

/** A status a ticket moved to, and when (ms, Redis clock). */
export interface Change {
  status: string;
  at: number;
}

/** Which statuses can end a wait; others do not wake it. */
export type Wants = (status: string) => boolean;

/** One open wait on one ticket. */
export interface Watch {
  /**
   * The changes since the last call (or since the watch began) that `wants`
   * accepts (all when not given), as soon as there is one; null once `deadline`
   * (ms, on ./deadlines.ts clock()) passes or the watch is closed first. An empty list means
   * "look again" (the subscription was re-established and may have missed
   * something). A change may be one the caller already read. One call at a time.
   */
  next(deadline: number, wants?: Wants): Promise<Change[] | null>;
  /** True once closed, by the caller, by its client going away, or because the process is stopping. */
  ended(): boolean;
  /** Ends the watch (a pending next() resolves null). Bound: usable as an event listener. */
  close(): void;
}

/** Follows a sale's lines for a queued ticket whose place has no event of its own. */
export interface LineFollower {
  /** True when a ticket of the sale left a line or entered one since the last call (or since following began). */
  moved(): boolean;
  close(): void;
}

// Words of a sale's message that move its lines: a ticket reserved (or handed a unit) or
// rejected leaves one; a ticket queued from the fair-start room enters one.
const MOVES_LINE = /:(?:reserved|rejected|queued):/;

export interface TicketEvents {
  /**
   * Watches a ticket, given its id (`<sale>-<seq>-<key>`). It is registered before this
   * returns its promise, and the promise resolves once the subscription is live: a
   * change published after that is never missed.
   */
  watch(ticketId: string): Promise<Watch>;
  /**
   * Follows the lines of a sale, for a queued ticket: its place changes only when a ticket
   * ahead leaves (an event of that ticket's), so its follower reads it again only then.
   */
  followLine(saleId: string): LineFollower;
  /** Open watches, for tests and metrics. */
  size(): number;
  /** True once the subscription has been confirmed: a watch then goes live at once. */
  live(): boolean;
  /** Ends every watch (their next() resolves null) and the subscriber connection. */
  close(): Promise<void>;
}

interface Hub {
  closed: boolean;
  deadlines: ReturnType<typeof createDeadlines>;
  drop(w: TicketWatch): void;
}

class TicketWatch implements Watch {
  // Changes not handed out yet, as they came; `stale` when something may have been missed.
  private pending: Change[] | null = null;
  private stale = false;
  private resolve: ((got: Change[] | null) => void) | null = null;
  private wants: Wants | undefined;
  private slot = 0;
  private done = false;

  constructor(
    private readonly hub: Hub,
    readonly ticketId: string,
  ) {}

  /** From the subscriber: a change of this ticket, or "resync" after a reconnect. */
  push(change: Change | "resync") {
    if (this.done) return;
    if (change === "resync") {
      this.stale = true;
    } else {
      // A caller waiting for particular statuses is not woken by others; with nobody
      // waiting, the change is kept for the next call to filter.
      if (this.resolve && this.wants && !this.wants(change.status)) return;
      this.pending ??= [];
      this.pending.push(change);
    }
    if (this.resolve) this.settle(this.take(undefined));
  }

  next(deadline: number, wants?: Wants): Promise<Change[] | null> {
    if (this.done || this.hub.closed) return Promise.resolve(null);
    const got = this.take(wants);
    if (got || deadline <= clock()) return Promise.resolve(got);
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.wants = wants;
      this.slot = this.hub.deadlines.add(deadline, this.expire);
    });
  }

  ended() {
    return this.done || this.hub.closed;
  }

  close = () => {
    if (this.done) return;
    this.done = true;
    this.hub.drop(this);
    if (this.resolve) this.settle(null);
  };

  private expire = () => {
    // Fired by the sweep, which has already forgotten the deadline.
    this.slot = 0;
    if (this.resolve) this.settle(null);
  };

  /** What the next call hands out: the wanted changes, [] to look again, or null for nothing yet. */
  private take(wants: Wants | undefined): Change[] | null {
    let got = this.pending;
    this.pending = null;
    if (got && wants) got = got.filter((c) => wants(c.status));
    if (got?.length) {
      this.stale = false;
      return got;
    }
    if (!this.stale) return null;
    this.stale = false;
    return [];
  }

  private settle(got: Change[] | null) {
    const resolve = this.resolve;
    this.resolve = null;
    this.wants = undefined;
    if (this.slot) this.hub.deadlines.remove(this.slot, this.expire);
    this.slot = 0;
    resolve?.(got);
  }
}

export function createTicketEvents(cfg: Config, keys: Keys): TicketEvents {
  const byTicket = new Map<string, TicketWatch | Set<TicketWatch>>();
  // Per followed sale: how many follow it, and how often its lines moved while followed.
  const lines = new Map<string, { followers: number; moves: number }>();
  let open = 0;
  let sub: ReturnType<typeof createRedis> | null = null;
  let subscribed: Promise<void> | null = null;
  let live = false;

  const each = (entry: TicketWatch | Set<TicketWatch>, f: (w: TicketWatch) => void) => {
    if (entry instanceof Set) for (const w of [...entry]) f(w);
    else f(entry);
  };

  const hub: Hub = {
    closed: false,
    deadlines: createDeadlines(),
    drop(w) {
      open--;
      const entry = byTicket.get(w.ticketId);
      if (entry === w) byTicket.delete(w.ticketId);
      else if (entry instanceof Set) {
        entry.delete(w);
        if (entry.size === 0) byTicket.delete(w.ticketId);
      }
    },
  };

  const wakeAll = () => {
    for (const entry of [...byTicket.values()]) each(entry, (w) => w.push("resync"));
    for (const line of lines.values()) line.moves++;
  };

  const onMessage = (_pattern: string, channel: string, message: string) => {
    // Every change of every sale comes here; most have nobody waiting.
    if (byTicket.size === 0 && lines.size === 0) return;
    // "<prefix>:{s<sale>}:events" → the sale id, which starts every ticket ref of the sale.
    const from = channel.lastIndexOf("{s");
    const to = channel.indexOf("}", from);
    if (from < 0 || to < 0) return;
    const saleId = channel.slice(from + 2, to);
    const line = lines.get(saleId);
    if (line && MOVES_LINE.test(message)) line.moves++;
    if (byTicket.size === 0) return;
    const prefix = `${saleId}-`;
    for (let start = 0; start < message.length; ) {
      let end = message.indexOf(" ", start);
      if (end < 0) end = message.length;
      const a = message.indexOf(":", start);
      if (a > start && a < end) {
        const entry = byTicket.get(prefix + message.slice(start, a));
        if (entry) {
          const b = message.indexOf(":", a + 1);
          const status = message.slice(a + 1, b > a && b < end ? b : end);
          const at = b > a && b < end ? Number(message.slice(b + 1, end)) : 0;
          each(entry, (w) => w.push({ status, at }));
        }
      }
      start = end + 1;
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
      () => {
        live = true;
      },
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
    followLine(saleId) {
      let line = lines.get(saleId);
      if (!line) {
        line = { followers: 0, moves: 0 };
        lines.set(saleId, line);
      }
      const followed = line;
      followed.followers++;
      let seen = followed.moves;
      let closed = false;
      return {
        moved() {
          const moved = followed.moves !== seen;
          seen = followed.moves;
          return moved;
        },
        close() {
          if (closed) return;
          closed = true;
          if (--followed.followers === 0 && lines.get(saleId) === followed) lines.delete(saleId);
        },
      };
    },
    size: () => open,
    live: () => live && !hub.closed,
    watch(ticketId) {
      if (hub.closed) return Promise.reject(new Error("ticket events closed"));
      // Registered before the subscription is confirmed: nothing published after it goes unseen.
      // A ticket has a handful of statuses in its life, so its list never grows far.
      // Events name a ticket by its place ("seq" on its sale's channel), so watches are kept by its ref.
      const ref = refOf(ticketId);
      const w = new TicketWatch(hub, ref);
      const entry = byTicket.get(ref);
      if (!entry) byTicket.set(ref, w);
      else if (entry instanceof Set) entry.add(w);
      else byTicket.set(ref, new Set([entry, w]));
      open++;
      return subscribe().then(
        () => w,
        (err: unknown) => {
          w.close();
          throw err;
        },
      );
    },
    async close() {
      hub.closed = true;
      for (const entry of [...byTicket.values()]) each(entry, (w) => w.close());
      lines.clear();
      hub.deadlines.stop();
      const s = sub;
      sub = null;
      subscribed = null;
      if (s) await s.quit().catch(() => s.disconnect());
    },
  };
}
