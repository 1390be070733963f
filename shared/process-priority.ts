import { readdirSync } from "node:fs";
import os from "node:os";
import type { Config } from "./config.js";
import type { Logger } from "./logger.js";

/**
 * Lowers this process's CPU priority to `WORKER_NICE` (0 leaves it as started), so
 * that where workers share a host with the API the kernel runs the API first and a
 * burst waits in the queue, not in the answers. Called once by a worker process at
 * start. Never fails the process: a priority it cannot set is logged and left.
 */
export function applyNice(cfg: Pick<Config, "WORKER_NICE">, log: Pick<Logger, "info" | "warn">): void {
  const nice = cfg.WORKER_NICE;
  // Already this low or lower (started under `nice`): raising it back would need privileges.
  if (nice === 0 || os.getPriority() >= nice) return;
  try {
    for (const tid of threadIds()) setThread(tid, nice);
    log.info({ nice }, "running at a lower CPU priority");
  } catch (err) {
    log.warn({ nice, err: (err as Error).message }, "could not lower the CPU priority; running as started");
  }
}

/**
 * Linux keeps a nice value per thread, and V8's helper threads (garbage collection,
 * compilation) already run when this is called; threads started later inherit it
 * from the one that starts them. Elsewhere 0 names the whole process.
 */
function threadIds(): number[] {
  try {
    return readdirSync("/proc/self/task").map(Number);
  } catch {
    return [0];
  }
}

function setThread(tid: number, nice: number) {
  try {
    os.setPriority(tid, nice);
  } catch (err) {
    // A thread that ended since the listing.
    if ((err as { info?: { code?: string } }).info?.code !== "ESRCH") throw err;
  }
}
