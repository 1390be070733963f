import { randomBytes } from "node:crypto";
import type { AppRedis } from "./redis.js";
import { defineScript } from "./scripts/define.js";

/**
 * A short lock renewed on a timer while its holder works. Short, so a holder that
 * dies lets go within `ttlMs` and another process takes over soon; renewed, so a long
 * piece of work (a big room's shuffle and queueing) keeps it. Renewal and release
 * compare the holder's token in one script (renew-lock.lua, release-lock.lua, beside
 * this file): a holder whose lock ran out never extends or deletes the next holder's.
 * `lost` turns true once a renewal finds the lock taken by someone else: the holder
 * should stop, the work is theirs now.
 */
export interface HeldLock {
  readonly lost: boolean;
  release(): Promise<void>;
}

// Each answers 1 when the token still held the lock, 0 when it was not (or no longer) the holder's.
const renewLock = defineScript({
  name: "renewLock",
  lua: new URL("./renew-lock.lua", import.meta.url),
  keys: ["lock"],
  args: ["token", "ttlMs"],
  decode: (raw) => ({ held: raw !== 0 }),
});
const releaseLock = defineScript({
  name: "releaseLock",
  lua: new URL("./release-lock.lua", import.meta.url),
  keys: ["lock"],
  args: ["token"],
  decode: (raw) => ({ released: raw === 1 }),
});

/** Takes the lock if free; null if another process holds it. */
export async function takeLock(redis: AppRedis, key: string, ttlMs: number): Promise<HeldLock | null> {
  const token = randomBytes(8).toString("hex");
  if (!(await redis.set(key, token, "PX", ttlMs, "NX"))) return null;
  let lost = false;
  // Three renewals per time to live: one late or failed renewal does not lose the lock.
  const timer = setInterval(
    () => {
      renewLock.run(redis, { lock: key }, { token, ttlMs }).then(
        ({ held }) => {
          if (!held) {
            lost = true;
            clearInterval(timer);
          }
        },
        // Redis away for a moment: the next tick tries again; if the lock expires meanwhile,
        // the holder's own checks (or the next renewal) find out.
        () => {},
      );
    },
    Math.max(50, Math.floor(ttlMs / 3)),
  );
  timer.unref();
  return {
    get lost() {
      return lost;
    },
    async release() {
      clearInterval(timer);
      await releaseLock.run(redis, { lock: key }, { token });
    },
  };
}
