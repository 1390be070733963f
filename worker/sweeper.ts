import type { Queue } from "bullmq";
import type { Deps } from "../shared/deps.js";
import { sweep } from "../shared/ticket/sweep.js";

// Every SWEEP_MS one worker (whoever takes the lock) sweeps for tickets that lost their
// job (shared/ticket/sweep.ts).
const SWEEP_MS = 10_000;

export function startSweeper(deps: Deps, queue: Queue) {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = (async () => {
      try {
        const mine = await deps.redis.set(deps.keys.sweepLock, String(process.pid), "PX", SWEEP_MS, "NX");
        if (mine) await sweep(deps, queue);
      } catch (err) {
        deps.log.warn({ err: String(err) }, "sweep failed");
      }
    })();
    void running.then(() => {
      if (timer) timer = setTimeout(tick, SWEEP_MS);
    });
  };
  timer = setTimeout(tick, SWEEP_MS);
  return {
    async stop() {
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
