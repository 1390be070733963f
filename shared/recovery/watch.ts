import { randomBytes } from "node:crypto";
import type { Deps } from "../deps.js";
import { takeLock } from "../lock.js";
import { rebuildFromPostgres } from "./rebuild.js";

// How often each process looks for the epoch marker, besides on every reconnect.
const CHECK_MS = 1000;
// The rebuilder's lock, renewed while it works: if it dies, another process takes over
// within this, so the shop is not left answering 503 for long.
const LOCK_MS = 5000;
// Ends an epoch set by a rebuild that reloaded sales (a fresh, empty Redis gets none).
const REBUILT = "-rebuilt";
// How long after such a rebuild an unknown item still means "not back yet": longer than
// the API's cache of open sales (shared/sale/directory.ts, 1 s), which may predate the reload.
const SETTLE_MS = 2000;

/**
 * Notices, in every process, that Redis lost its data: the epoch marker
 * (keys.epoch) is set once Redis holds the system's state, and a Redis that
 * restarted empty no longer has it. The first process to see it missing takes
 * the rebuild lock (SET NX), rebuilds from PostgreSQL, and sets a new epoch; the
 * others wait for the marker. A fresh Redis is "rebuilt" the same way, finding
 * nothing to do.
 */
export function watchRedis(deps: Deps) {
  const { redis, keys, log } = deps;
  let seen: string | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;

  const rebuild = async () => {
    const lock = await takeLock(redis, keys.rebuildLock, LOCK_MS);
    if (!lock) return;
    try {
      // The epoch may have been set between this process reading it missing and taking the
      // lock (the rebuilder sets it, then lets go): rebuilding again would set a second epoch.
      // The next check notices the one there.
      if ((await redis.get(keys.epoch)) !== null) return;
      const started = Date.now();
      const r = await rebuildFromPostgres(deps).catch((err: unknown) => {
        // Not the "Redis away" of every check during an outage: operators see 503s, so say why.
        log.warn({ err: String(err), ms: Date.now() - started }, "rebuilding redis failed; retrying");
        throw err;
      });
      // Marked when sales were reloaded: for a moment after, "no such item" may still be a stale cache.
      const epoch = `${Date.now()}-${randomBytes(4).toString("hex")}${r.sales.length ? REBUILT : ""}`;
      await redis.set(keys.epoch, epoch);
      seen = epoch;
      const detail = { ...r, ms: Date.now() - started };
      if (r.sales.length) log.warn(detail, "redis had lost its data: rebuilt from PostgreSQL");
      else log.info(detail, "redis epoch set");
    } finally {
      await lock.release();
    }
  };

  const check = () => {
    if (stopped || running) return running ?? Promise.resolve();
    running = (async () => {
      try {
        const epoch = await redis.get(keys.epoch);
        if (epoch === null) await rebuild();
        else if (epoch !== seen) {
          if (seen !== null) log.warn({ epoch }, "redis was rebuilt by another process");
          seen = epoch;
        }
      } catch (err) {
        // Redis away: the next check, or the reconnect, tries again.
        log.debug({ err: String(err) }, "redis epoch check failed");
      } finally {
        running = null;
      }
    })();
    return running;
  };

  const onReady = () => void check();
  redis.on("ready", onReady);
  const timer = setInterval(check, CHECK_MS);
  timer.unref();
  const first = check();
  return {
    /** Resolves after the first check (and any rebuild it started). */
    ready: first,
    check,
    async stop() {
      stopped = true;
      clearInterval(timer);
      redis.off("ready", onReady);
      await running;
    },
  };
}

/**
 * True while Redis has no epoch marker (it lost its data and the rebuild has not
 * finished) or was rebuilt a moment ago, so "no such item" may only mean "not
 * loaded again yet" or "not in this process's cached list of sales yet".
 */
export async function redisRebuilding(deps: Pick<Deps, "redis" | "keys">): Promise<boolean> {
  const epoch = await deps.redis.get(deps.keys.epoch);
  if (epoch === null) return true;
  const at = rebuiltAt(epoch);
  return at !== null && Date.now() - at < SETTLE_MS;
}

/**
 * When the rebuild that set this epoch marker reloaded sales (ms since the Unix epoch),
 * or null: a Redis built fresh, or no marker.
 */
export function rebuiltAt(epoch: string | null): number | null {
  return epoch?.endsWith(REBUILT) ? Number(epoch.split("-")[0]) : null;
}
