// Where the suites find Redis and PostgreSQL: TEST_REDIS_URL and TEST_DATABASE_URL (an empty
// value counts as unset), else the local defaults. Read by the suites' config (env.ts) and by
// `npm test` (scripts/test.ts), which starts local stores when none answers there.

export interface TestStores {
  redisUrl: string;
  databaseUrl: string;
  /** The variable that named each store, or null when it is the local default. */
  redisGiven: "TEST_REDIS_URL" | null;
  databaseGiven: "TEST_DATABASE_URL" | null;
}

export function testStores(env: Record<string, string | undefined>): TestStores {
  return {
    redisUrl: env.TEST_REDIS_URL || "redis://127.0.0.1:6379",
    databaseUrl: env.TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres",
    redisGiven: env.TEST_REDIS_URL ? "TEST_REDIS_URL" : null,
    databaseGiven: env.TEST_DATABASE_URL ? "TEST_DATABASE_URL" : null,
  };
}
