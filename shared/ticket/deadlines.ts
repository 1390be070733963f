// One timer for every open wait of a process, instead of a setTimeout (and its
// clearTimeout) per wait: deadlines fall into TICK_MS slots, and one interval,
// running only while a deadline is pending, fires each slot once it has passed.
// A wait therefore ends no sooner than its deadline and at most about a tick later.

// Short against the shortest waits clients ask for (hundreds of ms), long enough
// that an idle tick costs nothing measurable.
const TICK_MS = 25;
// A tick this many slots late (an event loop blocked for seconds) looks through
// the pending slots rather than every slot it missed.
const SCAN_AFTER = 400;

export interface Deadlines {
  /** Calls `fire` once `at` (ms, on clock()) has passed; returns the slot, for remove. */
  add(at: number, fire: () => void): number;
  /** Forgets a deadline added with `add` (no-op if it already fired). */
  remove(slot: number, fire: () => void): void;
  /** Deadlines pending, for tests. */
  size(): number;
  /** Fires nothing more; pending deadlines are dropped. */
  stop(): void;
}

export function createDeadlines(tickMs = TICK_MS): Deadlines {
  const slots = new Map<number, Set<() => void>>();
  let pending = 0;
  let timer: NodeJS.Timeout | null = null;
  // Every slot up to this one has fired.
  let done = 0;

  const fireSlot = (slot: number) => {
    const due = slots.get(slot);
    if (!due) return;
    slots.delete(slot);
    pending -= due.size;
    for (const fire of due) fire();
  };

  const sweep = () => {
    const now = Math.floor(clock() / tickMs);
    if (now - done > SCAN_AFTER) {
      for (const slot of [...slots.keys()].sort((a, b) => a - b)) if (slot <= now) fireSlot(slot);
    } else {
      for (let slot = done + 1; slot <= now; slot++) fireSlot(slot);
    }
    done = now;
    if (slots.size === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  };

  return {
    add(at, fire) {
      if (!timer) {
        done = Math.floor(clock() / tickMs);
        timer = setInterval(sweep, tickMs);
        // A wait never keeps a process alive on its own: its request does.
        timer.unref();
      }
      // The first slot that starts at or after `at`, and never one already swept.
      const slot = Math.max(Math.ceil(at / tickMs), done + 1);
      let set = slots.get(slot);
      if (!set) {
        set = new Set();
        slots.set(slot, set);
      }
      if (!set.has(fire)) pending++;
      set.add(fire);
      return slot;
    },
    remove(slot, fire) {
      const set = slots.get(slot);
      if (!set?.delete(fire)) return;
      pending--;
      if (set.size === 0) slots.delete(slot);
    },
    size: () => pending,
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
      slots.clear();
      pending = 0;
    },
  };
}

/**
 * The clock every wait's deadline is on: monotonic, so a step of the wall clock (NTP,
 * a VM resumed) neither ends waits early nor stretches them.
 */
export function clock(): number {
  return performance.now();
}
