import { z } from "zod";

// The only module that reads the environment. Every process parses it once at
// start; a bad value stops the process with one line naming the variable.

// Each check carries the message a person needs ("must be …", what to set),
// instead of zod's wording about types ("expected number, received NaN").
const int = (min: number, max: number) => {
  const error = `must be an integer from ${min} to ${max}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};
const RATE_ERROR = { error: "must be a number from 0 to 1" };
const rate = z.coerce.number(RATE_ERROR).min(0, RATE_ERROR).max(1, RATE_ERROR);
const bool = z
  .enum(["true", "false", "1", "0"], { error: "must be true or false" })
  .transform((v) => v === "true" || v === "1");
const PER_S_ERROR = { error: "must be a number from 0 (off) to 1000000" };
const perSecond = z.coerce.number(PER_S_ERROR).min(0, PER_S_ERROR).max(1_000_000, PER_S_ERROR);
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(", ")}` });
const url = (protocol: RegExp, error: string) => z.url({ protocol, error });
const NODES_ERROR = {
  error: "must be a comma-separated list of host:port, e.g. 10.0.0.1:7000,10.0.0.2:7000",
};
// Empty means a single Redis; set, it names a few masters to discover the cluster from.
// Kept as text (shared/redis.ts splits it), so it passes to child processes unchanged.
const redisNodes = z.string().regex(/^$|^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, NODES_ERROR);

const schema = z
  .object({
    NODE_ENV: oneOf(["development", "production", "test"]).default("development"),
    LOG_LEVEL: oneOf(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
    PORT: int(0, 65535).default(3000),
    REDIS_URL: url(/^rediss?$/, "must be a redis:// or rediss:// URL").default("redis://127.0.0.1:6379"),
    // A Redis Cluster instead of REDIS_URL's single Redis (REDIS_URL's password and
    // TLS still apply to every node).
    REDIS_CLUSTER_NODES: redisNodes.default(""),
    // Namespaces every Redis key and BullMQ queue, so several systems (or test
    // suites) can share one Redis.
    REDIS_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,32}$/, { error: "must be 1 to 32 letters, digits, _ or -" })
      .default("fs"),
    DATABASE_URL: url(/^postgres(ql)?$/, "must be a postgres:// or postgresql:// URL").default(
      "postgres://postgres@127.0.0.1:5432/flashsale",
    ),
    DATABASE_POOL: int(1, 100).default(10),
    ADMIN_USER: z.string().min(1).default("admin"),
    ADMIN_PASSWORD: z.string().min(1).optional(),

    SALE_ITEMS: int(1, 1_000_000).default(10_000),
    SALE_STOCK_PER_ITEM: int(1, 1_000_000).default(1),
    SALE_USER_LIMIT: int(1, 1_000_000).default(10),
    // The calendar's sales: one starts every SALE_PERIOD_S seconds (counted from the Unix
    // epoch, so 3600 starts them on the hour, UTC) and lasts until the next one starts.
    SALE_PERIOD_S: int(1, 7 * 24 * 3600).default(3600),
    // How long before a period starts the scheduler creates and loads its sale; a lead
    // longer than the period counts as the period (scheduler/calendar.ts).
    SALE_LEAD_S: int(0, 3300).default(300),
    SCHEDULER_HOURLY: bool.default(true),
    // Checkouts this many seconds before a sale opens wait in a room that is shuffled at the
    // opening, so arriving a millisecond earlier gives no edge; 0 turns the room off.
    FAIR_START_WINDOW_S: int(0, 3600).default(30),
    // How sales sell unless created otherwise: 'direct' pays at once, 'two_step' holds the
    // unit behind a checkout code for HOLD_S seconds until POST /purchase (the contest's API).
    CHECKOUT_MODE: oneOf(["direct", "two_step"]).default("direct"),
    HOLD_S: int(1, 3600).default(30),

    PAYMENT_SLOTS: int(1, 100_000).default(200),
    PAYMENT_TIMEOUT_MS: int(1, 600_000).default(3000),
    PAYMENT_FAILURE_RATE: rate.default(0),
    PAYMENT_HANG_RATE: rate.default(0),
    PAYMENT_LATENCY_MIN_MS: int(0, 600_000).default(10),
    PAYMENT_LATENCY_MAX_MS: int(0, 600_000).default(50),

    // Queue jobs one worker process handles at once (reserving, waiting for a slot, paying):
    // a job is one ticket, or a batch of up to JOB_BATCH_MAX admitted together.
    WORKER_CONCURRENCY: int(1, 10_000).default(500),
    // Tickets of one sale admitted together travel as one queue job of at most this many
    // (shared/ticket/enqueue.ts): BullMQ's cost is per job, the worker's steps per batch.
    // 1 queues every ticket as a job of its own.
    JOB_BATCH_MAX: int(1, 1000).default(50),
    // How long a job's lock lives without renewal: a crashed worker's job is
    // picked up again after this.
    JOB_LOCK_MS: int(500, 600_000).default(30_000),
    // Completed checkout jobs kept for the queue dashboard (the newest this many; older ones
    // are removed as new ones complete): a bounded history of the last sale's jobs. 0 removes
    // each job as it completes. Failed jobs are kept apart (shared/queues.ts).
    JOB_HISTORY: int(0, 1_000_000).default(1000),
    // A waiting ticket's job re-checks this often even if nobody wakes it.
    WAIT_RECHECK_MS: int(50, 600_000).default(5_000),
    // CPU priority (nice, 0 to 19) a worker process lowers itself to at start
    // (shared/process-priority.ts), so where workers share a host with the API a burst
    // waits in the queue rather than in the answers; 0 leaves it as started. `npm start`
    // and the bench give their workers 10 unless this is set.
    WORKER_NICE: int(0, 19).default(0),
    // Port of a worker process's own /metrics (its CPU, memory, event loop, jobs in hand)
    // for Prometheus; 0 serves none, so several workers on one host do not fight over one
    // port. Compose gives each worker container the same port on its own address.
    WORKER_METRICS_PORT: int(0, 65535).default(0),
    // A sale's keys leave Redis this long after it ends, once every ticket is final (its
    // reads then come from PostgreSQL); final tickets stay readable in Redis for a day anyway.
    SALE_RETENTION_S: int(1, 30 * 24 * 3600).default(24 * 3600),
    // Checkout attempts (PostgreSQL's record of each answer) are kept this many days.
    ATTEMPTS_RETENTION_DAYS: int(1, 3650).default(7),
    // Waiting line per item: at most LINE_FACTOR tickets per unit that can still sell.
    LINE_FACTOR: int(1, 10_000).default(4),
    // Queued tickets across a sale before checkout answers 503 overloaded.
    QUEUE_MAX: int(1, 100_000_000).default(200_000),

    // Checkout rate limit, token buckets in Redis: a steady rate per second and a
    // burst on top; a rate of 0 turns that bucket off. Per user, generous enough
    // for a client's honest retries and for 100 checkouts at once (the size of the
    // per-user test crowd); per client address, off by default, because a load test
    // or a proxy sends everyone's checkouts from one address.
    RATE_USER_PER_S: perSecond.default(20),
    RATE_USER_BURST: int(1, 1_000_000).default(200),
    RATE_CLIENT_PER_S: perSecond.default(0),
    RATE_CLIENT_BURST: int(1, 1_000_000).default(1000),
    // Behind a trusted reverse proxy the socket's address is the proxy's: take the
    // client's from the last X-Forwarded-For entry (the one the proxy added).
    // Otherwise that header is anyone's to forge, and is ignored.
    TRUST_PROXY: bool.default(false),
    // Signed shopper identity, off unless one of these is set: the user is a bearer
    // token's `sub`. A shared secret (HS256, at least 32 characters), or a PEM public key
    // file for tokens signed elsewhere (RS256 or ES256, AUTH_JWT_ALG).
    AUTH_JWT_SECRET: z.string().min(32, { error: "must be at least 32 characters" }).optional(),
    AUTH_JWT_PUBLIC_KEY_FILE: z.string().min(1).optional(),
    AUTH_JWT_ALG: oneOf(["RS256", "ES256"]).default("RS256"),
    // Long polls, checkout waits and event streams one client (address) may hold open in
    // one API process; beyond it 429 rate_limited. Generous: a load test or a proxy brings
    // a whole crowd from one address.
    MAX_WAITS_PER_CLIENT: int(1, 1_000_000).default(10_000),
    // Connections one API process holds at once; beyond it new ones are dropped at accept.
    MAX_CONNECTIONS: int(1, 10_000_000).default(50_000),
    // A request's headers must arrive within this (a client sending them byte by byte is
    // cut off: the connection is closed, with no answer), and its whole body within
    // REQUEST_TIMEOUT_MS. Node checks it on this process's event loop, so a process too busy
    // to read a connection for that long cuts its client off too.
    HEADERS_TIMEOUT_MS: int(1000, 600_000).default(5_000),
    REQUEST_TIMEOUT_MS: int(1000, 600_000).default(10_000),
  })
  .superRefine((env, ctx) => {
    if (env.AUTH_JWT_SECRET && env.AUTH_JWT_PUBLIC_KEY_FILE) {
      ctx.addIssue({
        code: "custom",
        path: ["AUTH_JWT_PUBLIC_KEY_FILE"],
        message: "set either AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY_FILE, not both",
      });
    }
    if (env.REQUEST_TIMEOUT_MS < env.HEADERS_TIMEOUT_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["REQUEST_TIMEOUT_MS"],
        message: "must be at least HEADERS_TIMEOUT_MS (the headers are part of the request)",
      });
    }
    if (env.NODE_ENV === "production" && !env.ADMIN_PASSWORD) {
      ctx.addIssue({
        code: "custom",
        path: ["ADMIN_PASSWORD"],
        message: "must be set when NODE_ENV is production",
      });
    }
    if (env.PAYMENT_LATENCY_MIN_MS > env.PAYMENT_LATENCY_MAX_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["PAYMENT_LATENCY_MIN_MS"],
        message: `must not exceed PAYMENT_LATENCY_MAX_MS, which is ${env.PAYMENT_LATENCY_MAX_MS}`,
      });
    }
  });

export type Env = z.infer<typeof schema>;

/** Every variable the configuration knows (for .env.example and docker-compose checks). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);
export type Config = Env & { ADMIN_PASSWORD: string };

export class ConfigError extends Error {}

// The error line lands in logs: a URL's password must not.
const hidePassword = (value: string) => value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, "$1***@");

/** Parses an environment; throws ConfigError with one line naming the first bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = String(issue?.path[0] ?? "environment");
    const value = cleaned[name];
    const got = value === undefined ? "" : ` (got ${JSON.stringify(hidePassword(value))})`;
    throw new ConfigError(`config: ${name} ${issue?.message ?? "is invalid"}${got}`);
  }
  return { ...result.data, ADMIN_PASSWORD: result.data.ADMIN_PASSWORD ?? "admin" };
}

/** Reads process.env; on a bad value prints one line and exits. */
export function loadConfig(overrides: Record<string, string | undefined> = {}): Config {
  try {
    return parseConfig({ ...process.env, ...overrides });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** The process environment, for code that layers its own values on top (tests, benchmarks). */
export function processEnv(): Record<string, string | undefined> {
  return { ...process.env };
}
