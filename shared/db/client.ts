import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema.js";

export type Db = ReturnType<typeof createDb>;
/** The postgres.js client (and, cast, a transaction of it), for hand-written SQL. */
export type Sql = Db["client"];

export function createDb(url: string, max = 10) {
  const client = postgres(url, {
    max,
    onnotice: () => {},
    connect_timeout: 5,
    // Seconds before a connection that failed tries again. postgres.js's default grows
    // to 20 s over a few failures, so a PostgreSQL restarted after a short outage went
    // unused for up to 20 s; capped at 1 s (with jitter) it is used again within a second.
    backoff: (retries: number) => (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, 1),
  });
  const db = drizzle(client, { schema });
  return Object.assign(db, { client });
}
