// Collects single calls into batches: one round trip for many callers. A batch
// leaves when it is full or when the event loop has had `waitMs` to fill it (0: the
// calls made until the event loop next turns, with no timer's millisecond).

export interface Batcher<T, R> {
  push(item: T): Promise<R>;
  /** Sends what is waiting and resolves when every batch in flight has settled. */
  drain(): Promise<void>;
}

interface Pending<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export function createBatcher<T, R>(
  flush: (items: T[]) => Promise<R[]>,
  opts: { max: number; waitMs: number; concurrency?: number },
): Batcher<T, R> {
  let queue: Pending<T, R>[] = [];
  let timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  let running = 0;
  const inflight = new Set<Promise<void>>();
  const limit = opts.concurrency ?? 1;

  const send = () => {
    if (timer) {
      if (opts.waitMs === 0) clearImmediate(timer as NodeJS.Immediate);
      else clearTimeout(timer as NodeJS.Timeout);
      timer = null;
    }
    while (queue.length > 0 && running < limit) {
      const batch = queue.slice(0, opts.max);
      queue = queue.slice(batch.length);
      running++;
      const p = flush(batch.map((b) => b.item))
        .then(
          (results) => {
            for (const [i, b] of batch.entries()) b.resolve(results[i] as R);
          },
          (err) => {
            for (const b of batch) b.reject(err);
          },
        )
        .finally(() => {
          running--;
          inflight.delete(p);
          if (queue.length > 0) schedule();
        });
      inflight.add(p);
    }
  };

  const schedule = () => {
    if (queue.length >= opts.max) send();
    else if (!timer) timer = opts.waitMs === 0 ? setImmediate(send) : setTimeout(send, opts.waitMs);
  };

  return {
    push(item) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        schedule();
      });
    },
    async drain() {
      while (queue.length > 0 || inflight.size > 0) {
        send();
        await Promise.allSettled([...inflight]);
      }
    },
  };
}

/**
 * The indexes of `items` grouped by `keyOf` (groups in order of first appearance, indexes
 * in order), for one call per group, e.g. per sale; a null key leaves the item out.
 */
export function groupIndexes<T>(
  items: T[],
  keyOf: (t: T, i: number) => string | null,
): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  items.forEach((t, i) => {
    const key = keyOf(t, i);
    if (key === null) return;
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  });
  return groups;
}

export type Done<R> = { ok: R } | { error: unknown };

/** Runs `each` once per group of `items` (by `keyOf`), so one group's failure is that group's alone. */
export async function perGroup<T, R>(
  items: T[],
  keyOf: (t: T) => string,
  each: (group: T[]) => Promise<R[]>,
): Promise<Done<R>[]> {
  const out: Done<R>[] = items.map(() => ({ error: new Error("not run") }));
  await Promise.all(
    [...groupIndexes(items, keyOf).values()].map(async (group) => {
      try {
        const res = await each(group.map((i) => items[i] as T));
        group.forEach((i, j) => {
          out[i] = { ok: res[j] as R };
        });
      } catch (error) {
        for (const i of group) out[i] = { error };
      }
    }),
  );
  return out;
}
