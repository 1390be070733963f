/**
 * Bounds the tickets one worker process holds at once (WORKER_CONCURRENCY), whether
 * they came alone or in a batch job: BullMQ's concurrency counts jobs, and a batch
 * reserves a unit for each of its tickets as it starts, so without this a process could
 * hold concurrency × batch size units while its tickets wait for payment slots. A batch
 * enters once the tickets held are below the bound, so one batch larger than the whole
 * bound still runs; entry is first come, first served, so jobs start in queue order.
 */
export function createGate(limit: number) {
  let held = 0;
  const waiting: { n: number; go: () => void }[] = [];
  const admit = () => {
    while (waiting.length > 0 && held < limit) {
      const next = waiting.shift();
      if (!next) break;
      held += next.n;
      next.go();
    }
  };
  return {
    enter(n: number): Promise<void> {
      if (waiting.length === 0 && held < limit) {
        held += n;
        return Promise.resolve();
      }
      return new Promise<void>((go) => waiting.push({ n, go }));
    },
    leave(n: number) {
      held -= n;
      admit();
    },
    held: () => held,
  };
}

export type Gate = ReturnType<typeof createGate>;
