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
