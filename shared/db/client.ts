import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema.js";

export type Db = ReturnType<typeof createDb>;

export function createDb(url: string, max = 10) {
  const client = postgres(url, {
    max,
    onnotice: () => {},
    connect_timeout: 5,
  });
  const db = drizzle(client, { schema });
  return Object.assign(db, { client });
}
