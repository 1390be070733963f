import { fileURLToPath } from "node:url";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { createDb } from "./client.js";

const MIGRATIONS = fileURLToPath(new URL("../../drizzle", import.meta.url));
// Any constant works; it only has to be the same in every process that migrates.
const MIGRATION_LOCK = 7_242_001;

/** Creates the database named in the URL when it does not exist yet (local development). */
export async function ensureDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const probe = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await probe`select 1`;
    return;
  } catch (err) {
    if ((err as { code?: string }).code !== "3D000") throw err;
  } finally {
    await probe.end({ timeout: 1 });
  }
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await sql.unsafe(`create database "${name.replaceAll('"', '""')}"`);
  } catch (err) {
    // Another process created it first.
    if ((err as { code?: string }).code !== "42P04") throw err;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Applies drizzle/ migrations; safe when several processes start at once. */
export async function runMigrations(url: string): Promise<void> {
  await ensureDatabase(url);
  const db = createDb(url, 1);
  try {
    await db.client`select pg_advisory_lock(${MIGRATION_LOCK})`;
    await migrate(db, { migrationsFolder: MIGRATIONS });
  } finally {
    await db.client`select pg_advisory_unlock(${MIGRATION_LOCK})`.catch(() => {});
    await db.client.end({ timeout: 1 });
  }
}
