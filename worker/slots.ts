import type { Deps } from "../shared/deps.js";
import type { SettingsWatcher } from "./settings-watcher.js";
import { LEASE_GRACE_MS } from "./steps.js";

// How often a process with tickets waiting asks for freed slots.
const POLL_MS = 5;
// Holders per acquire call.
const MAX_ASK = 200;

interface Waiter {
  holder: string;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * The payment-slot semaphore as seen from one worker process. Waiters queue
 * here in order; one loop per process asks Redis for as many slots as it has
 * waiters (shared/lua/acquire-slots.lua), so polling load does not grow with
 * the number of tickets waiting.
 */
export function createSlotPool(deps: Deps, settings: SettingsWatcher) {
  const waiters: Waiter[] = [];
  let pumping = false;
  let closed = false;

  async function pump() {
    if (pumping) return;
    pumping = true;
    try {
      while (waiters.length > 0 && !closed) {
        const ask = waiters.slice(0, MAX_ASK);
        const lease = settings.get().timeout_ms + LEASE_GRACE_MS;
        let granted = 0;
        try {
          granted = Number(
            await deps.redis.run(
              "acquireSlots",
              [deps.keys.slots, deps.keys.payments],
              [lease, ...ask.map((w) => w.holder)],
            ),
          );
        } catch (err) {
          deps.log.warn({ err: String(err) }, "slot acquire failed; retrying");
        }
        for (const w of waiters.splice(0, granted)) w.resolve();
        if (granted < ask.length) await new Promise((r) => setTimeout(r, POLL_MS));
      }
    } finally {
      pumping = false;
    }
  }

  return {
    /** Resolves once `holder` holds a slot. */
    acquire(holder: string): Promise<void> {
      if (closed) return Promise.reject(new Error("slot pool closed"));
      return new Promise<void>((resolve, reject) => {
        waiters.push({ holder, resolve, reject });
        void pump();
      });
    },
    async release(holder: string): Promise<void> {
      await deps.redis.zrem(deps.keys.slots, holder);
    },
    waiting: () => waiters.length,
    close() {
      closed = true;
      for (const w of waiters.splice(0)) w.reject(new Error("slot pool closed"));
    },
  };
}

export type SlotPool = ReturnType<typeof createSlotPool>;
