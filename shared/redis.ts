import { Cluster, Redis, type RedisOptions } from "ioredis";
import { defineScripts } from "./scripts/define.js";

/** One Redis or a Redis Cluster: every key a script or MULTI touches shares one hash tag (shared/keys.ts). */
export type AppRedis = Redis | Cluster;

/** Where Redis is: a URL (one Redis), or the config, whose REDIS_CLUSTER_NODES picks a cluster. */
export type RedisTarget = string | { REDIS_URL: string; REDIS_CLUSTER_NODES: string };

export interface RedisClientOptions {
  /** BullMQ workers need blocking commands to wait forever: null retries per request. */
  forWorker?: boolean;
  name?: string;
  /**
   * Fail a command at once while Redis is unreachable instead of queueing it until
   * a reconnect: the API answers 503 unavailable at once rather than hang.
   */
  failFast?: boolean;
}

export function createRedis(target: RedisTarget, opts: RedisClientOptions = {}): AppRedis {
  // A cluster discovers its nodes with commands of its own before it is ready, so it
  // keeps ioredis's queueing (a known limit: its clients wait for a reconnect).
  const failFast = opts.failFast === true && (typeof target === "string" || !target.REDIS_CLUSTER_NODES);
  const options: RedisOptions = {
    connectionName: opts.name,
    // Fail fast: a command caught in flight when the connection drops fails at the
    // first reconnect attempt instead of after three.
    maxRetriesPerRequest: opts.forWorker ? null : failFast ? 0 : 3,
    enableAutoPipelining: !opts.forWorker,
    enableOfflineQueue: !failFast,
    // Keep reconnecting with a short, bounded delay; callers see errors, not hangs.
    retryStrategy: (times) => Math.min(times * 100, 2000),
    lazyConnect: false,
  };
  const redis = connect(target, options) as AppRedis;
  // Errors surface on the commands that fail; an unhandled 'error' event would crash the process.
  redis.on("error", () => {});
  defineScripts(redis);
  return redis;
}

function connect(target: RedisTarget, options: RedisOptions): Redis | Cluster {
  if (typeof target === "string") return new Redis(target, options);
  if (!target.REDIS_CLUSTER_NODES) return new Redis(target.REDIS_URL, options);
  // "host:port,host:port", checked by shared/config.ts.
  const nodes = target.REDIS_CLUSTER_NODES.split(",").map((n) => {
    const at = n.lastIndexOf(":");
    return { host: n.slice(0, at), port: Number(n.slice(at + 1)) };
  });
  // Credentials and TLS come from REDIS_URL and apply to every node the cluster reveals.
  const u = new URL(target.REDIS_URL);
  const { enableAutoPipelining: _, retryStrategy, ...perNode } = options;
  return new Cluster(nodes, {
    // Off in a cluster: ioredis groups an auto-pipeline by the slot of a command's
    // first argument, which for a script with a variable key count (load-items) is
    // the count, not a key, and the batch is then refused as cross-slot.
    enableAutoPipelining: false,
    clusterRetryStrategy: retryStrategy,
    redisOptions: {
      ...perNode,
      username: u.username ? decodeURIComponent(u.username) : undefined,
      password: u.password ? decodeURIComponent(u.password) : undefined,
      tls: u.protocol === "rediss:" ? {} : undefined,
    },
  });
}

/** The connections to scan for keys: every master of a cluster, or the one Redis. */
export function masters(redis: Redis | Cluster): Redis[] {
  return redis instanceof Cluster ? redis.nodes("master") : [redis];
}

/** Every key matching a MATCH pattern, in batches, on one Redis or every master of a cluster. */
export async function* scanKeys(redis: Redis | Cluster, pattern: string): AsyncGenerator<string[]> {
  for (const node of masters(redis)) {
    let cursor = "0";
    do {
      const [next, found] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      if (found.length) yield found;
      cursor = next;
    } while (cursor !== "0");
  }
}

/** Resolves when Redis answers a PING; rejects once `ms` have passed without an answer. */
export async function waitForRedis(redis: Redis | Cluster, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error("redis did not answer");
    // A PING queued while ioredis reconnects can wait far longer than we want: race it.
    const answered = await Promise.race([
      redis.ping().then(
        () => true,
        () => false,
      ),
      new Promise<false>((r) => setTimeout(() => r(false), Math.min(left, 500)).unref()),
    ]);
    if (answered) return;
  }
}
