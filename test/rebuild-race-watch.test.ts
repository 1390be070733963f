import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deps } from "../shared/deps.js";
import { createDeps } from "../shared/deps.js";
import { createLogger } from "../shared/logger.js";
import { watchRedis } from "../shared/recovery/watch.js";
import { sleep } from "../shared/time.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";

// Every process watches for a Redis that lost its data and the first to see it
// rebuilds; the others must wait for its epoch, not rebuild a second time after it
// lets go of the lock (a second rebuild sets a second epoch, and every process
// notices the loss twice).

const PROCESSES = 6;
const ROUNDS = 100;
// About as long as a rebuild with nothing to reload takes.
const STAGGER_MS = 15;

let env: TestEnv;
const others: Deps[] = [];
beforeAll(async () => {
  env = await createTestEnv({ workers: 0, env: { LOG_LEVEL: "fatal" } });
  // Own connections, as separate processes have.
  for (let i = 0; i < PROCESSES; i++) others.push(await createDeps(env.cfg, `watch${i}`, env.deps.log));
});
afterAll(async () => {
  for (const d of others) await Promise.allSettled([d.redis.quit(), d.db.client.end({ timeout: 2 })]);
  await env?.close();
});

describe("processes noticing an emptied Redis at once", () => {
  it("rebuild it exactly once", async () => {
    const counts: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await env.deps.redis.del(env.deps.keys.epoch);
      let rebuilds = 0;
      // Each process looks at its own moment, some while the first one is rebuilding.
      const watchers = await Promise.all(
        others.map(async (d) => {
          await sleep(Math.random() * STAGGER_MS);
          // Counts the line the rebuilder logs ("redis epoch set": nothing to reload here).
          const log = createLogger("watch", env.cfg);
          const info = log.info.bind(log);
          log.info = ((obj: unknown, msg?: string) => {
            if (msg === "redis epoch set") rebuilds++;
            return info(obj as object, msg);
          }) as typeof log.info;
          return watchRedis({ ...d, log });
        }),
      );
      await Promise.all(watchers.map((w) => w.ready));
      // Those that found the lock taken look again at their next check; give them one.
      await Promise.all(watchers.map((w) => w.check()));
      await Promise.all(watchers.map((w) => w.stop()));
      counts.push(rebuilds);
    }
    expect(counts.filter((n) => n !== 1)).toEqual([]);
  });
});
