import type { Deps } from "../deps.js";
import { defineBatchScript } from "../scripts/define.js";
import type { SettingsWatcher } from "./settings-watcher.js";

// A slot's lease outlives its payment's deadline by this much, so a slot is only
// reclaimed from a worker that died, never from one still waiting on a payment.
export const LEASE_GRACE_MS = 1000;

// How often a process with tickets waiting asks for slots freed elsewhere (a slot
// this process frees wakes it at once).
const POLL_MS = 5;
// Holders per acquire call: as many as were granted last time, doubled, within these
// bounds. With every slot busy, a process asks for a few rather than sending all its
// waiters' ids every POLL_MS, which cost Redis more than the grants themselves.
const MIN_ASK = 8;
const MAX_ASK = 200;

interface Waiter {
  holder: string;
  /** Resolved with the lease's expiry (ms, Redis clock). */
  resolve: (leaseUntil: number) => void;
  reject: (e: unknown) => void;
}

const acquireSlots = defineBatchScript({
  name: "acquireSlots",
  lua: new URL("./acquire-slots.lua", import.meta.url),
  helpers: ["now_ms"],
  keys: ["slots", "settings"],
  args: ["leaseMs"],
  each: { keys: [], args: ["holder"] },
  // How many of the holders, from the first, were granted a slot, and until when (ms, Redis clock).
  decode: (raw) => {
    const [granted, until] = raw as [number, number];
    return { granted: Number(granted), until: Number(until) };
  },
});

/**
 * The payment-slot semaphore as seen from one worker process. Waiters queue
 * here in order; one loop per process asks Redis for as many slots as it has
 * waiters (acquire-slots.lua), so polling load does not grow with
 * the number of tickets waiting.
 */
export function createSlotPool(deps: Deps, settings: SettingsWatcher) {
  // A FIFO read from `head`: a backlog's batches queue thousands of waiters here, and
  // taking a few from the front of an array that long must not shift all the rest.
  let waiters: Waiter[] = [];
  let head = 0;
  const waiting = () => waiters.length - head;
  const take = (n: number) => {
    const out = waiters.slice(head, head + n);
    head += out.length;
    if (head > 1024 && head * 2 > waiters.length) {
      waiters = waiters.slice(head);
      head = 0;
    }
    return out;
  };
  let pumping = false;
  let closed = false;
  let wake: (() => void) | null = null;
  let askSize = MAX_ASK;

  /** Sleeps POLL_MS, or less if this process frees a slot meanwhile. */
  const nap = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, POLL_MS);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });

  async function pump() {
    if (pumping) return;
    pumping = true;
    try {
      while (waiting() > 0 && !closed) {
        const ask = waiters.slice(head, head + askSize);
        const lease = settings.get().timeout_ms + LEASE_GRACE_MS;
        let granted = 0;
        let until = 0;
        try {
          ({ granted, until } = await acquireSlots.run(
            deps.redis,
            { slots: deps.keys.slots, settings: deps.keys.payments },
            { leaseMs: lease },
            ask.map((w) => ({ keys: {}, args: { holder: w.holder } })),
          ));
        } catch (err) {
          deps.log.warn({ err: String(err) }, "slot acquire failed; retrying");
        }
        for (const w of take(granted)) w.resolve(until);
        askSize = Math.min(MAX_ASK, Math.max(MIN_ASK, granted * 2));
        if (granted < ask.length) await nap();
      }
    } finally {
      pumping = false;
    }
  }

  return {
    /** Resolves once `holder` holds a slot, with the lease's expiry (ms, Redis clock). */
    acquire(holder: string): Promise<number> {
      if (closed) return Promise.reject(new Error("slot pool closed"));
      return new Promise<number>((resolve, reject) => {
        waiters.push({ holder, resolve, reject });
        void pump();
      });
    },
    /**
     * Frees the holders' slots (the command is sent at once, so it keeps its place among
     * what else goes out in this tick); this process's next waiter asks for them at once.
     */
    async release(...holders: string[]): Promise<void> {
      await deps.redis.zrem(deps.keys.slots, ...holders);
      wake?.();
    },
    waiting,
    close() {
      closed = true;
      for (const w of take(waiting())) w.reject(new Error("slot pool closed"));
    },
  };
}

export type SlotPool = ReturnType<typeof createSlotPool>;

/** Payment slots held now: leases in the semaphore not yet expired (by this process's clock). */
export function slotsHeld(deps: Pick<Deps, "redis" | "keys">): Promise<number> {
  return deps.redis.zcount(deps.keys.slots, Date.now(), "+inf");
}
