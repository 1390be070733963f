import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crowd } from "../tools/harness/crowd.js";
import { ADMIN, createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { type FuzzRequest, type Generated, generate } from "./helpers/fuzz-requests.js";
import { type Answer, sender, sendRaw } from "./helpers/fuzz-send.js";
import { prng } from "./helpers/prng.js";

// Thousands of generated bad requests against every endpoint: each must be a 4xx
// with exactly {"error": {"code", "message"}}, none a 5xx, and none may change
// anything. The seed is printed; FUZZ_SEED=<seed> replays a run, FUZZ_COUNT sizes it.

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const COUNT = Number(process.env.FUZZ_COUNT ?? 10_000);
// Requests in flight at once, over kept-alive connections.
const CONCURRENCY = 50;
const SNAKE = /^[a-z]+(_[a-z]+)*$/;

let env: TestEnv;
let saleId: string;

beforeAll(async () => {
  // No workers: a request that wrongly queued a ticket would leave it waiting, in plain sight.
  env = await createTestEnv({ workers: 0 });
  saleId = await env.createSale({
    items: [
      { item_id: "A1", stock: 5, name: "A one" },
      { item_id: "B2", stock: 3, name: "B two" },
    ],
  });
});
afterAll(async () => {
  await env?.close();
});

/** What a bad request must not change, in PostgreSQL, Redis and the queue (as test/bad-input.test.ts). */
async function snapshot() {
  const { redis, keys, db } = env.deps;
  const sql = db.client;
  await env.api.ctx.attempts.drain();
  const [counts] = await sql`
    select (select count(*) from sales)::int as sales,
           (select count(*) from items)::int as items,
           (select count(*) from purchases)::int as purchases,
           (select count(*) from sale_users)::int as sale_users,
           (select count(*) from checkout_attempts where outcome = 'accepted')::int as accepted`;
  const items = await sql`select sale_id::text, item_id, stock, sold from items order by sale_id, item_id`;
  return {
    counts,
    items: [...items],
    sale: await redis.hgetall(keys.sale(saleId)),
    stock: {
      A1: await redis.hgetall(keys.item(saleId, "A1")),
      B2: await redis.hgetall(keys.item(saleId, "B2")),
    },
    held: await redis.hgetall(keys.held(saleId)),
    pending: await redis.hgetall(keys.pending(saleId)),
    tickets: await redis.keys(`${keys.ticketPrefix(saleId)}*`),
    idempotency: await redis.keys(`${keys.sale(saleId)}:k:*`),
    jobs: await env.api.ctx.queue.getJobCounts("waiting", "active", "delayed", "completed", "failed"),
    payments: await redis.hgetall(keys.payments),
  };
}

const describeReq = (g: Generated) =>
  "raw" in g
    ? `raw ${JSON.stringify(g.raw.slice(0, 120))}`
    : `${g.method} ${g.path.slice(0, 160)} ${JSON.stringify(g.headers)} ${JSON.stringify((g as FuzzRequest).body?.slice(0, 160) ?? null)}`;

/**
 * A GET whose path resolves to "/" (a made-up "/items/.." is sent as "/") asks for the
 * storefront page, not the API: it answers 200 with the page.
 */
const storefront = (g: Generated) =>
  !("raw" in g) && g.method === "GET" && new URL(`http://fuzz${g.path}`).pathname === "/";

/** Why an answer breaks the contract, or null when it keeps it. */
function problem(a: Answer): string | null {
  if (a.status < 400 || a.status >= 500) return `status ${a.status}`;
  if (!/^application\/json/.test(a.contentType)) return `content-type ${a.contentType || "none"}`;
  let body: unknown;
  try {
    body = JSON.parse(a.body);
  } catch {
    return "body is not JSON";
  }
  const e = (body as { error?: { code?: unknown; message?: unknown } }).error;
  const exact =
    Object.keys(body as object).length === 1 &&
    e !== undefined &&
    Object.keys(e).sort().join() === "code,message" &&
    typeof e.code === "string" &&
    SNAKE.test(e.code) &&
    typeof e.message === "string" &&
    e.message.trim() !== "";
  return exact ? null : "not the contract's error body";
}

describe(`fuzz: ${COUNT} bad requests (seed ${SEED})`, () => {
  it("every answer is a 4xx with the contract's error body, never a 5xx, and nothing changes", async () => {
    process.stdout.write(`fuzz seed ${SEED}: replay with FUZZ_SEED=${SEED}\n`);
    const before = await snapshot();
    const r = prng(SEED);
    const adminAuth = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString("base64")}`;
    // Generated up front, in order, so a seed always gives the same requests whatever the timing.
    const requests = Array.from({ length: COUNT }, () => generate(r, { saleId, adminAuth }));
    const http = sender(env.url, CONCURRENCY);
    const failures: string[] = [];
    const byFamily = new Map<string, Map<number, number>>();
    const started = Date.now();
    await crowd(requests.length, CONCURRENCY, async (i) => {
      const g = requests[i] as Generated;
      let why: string | null;
      let status = 0;
      try {
        const a = "raw" in g ? await sendRaw(env.url, g) : await http.send(g);
        status = a.status;
        why = storefront(g) ? (a.status === 200 ? null : `storefront answered ${a.status}`) : problem(a);
        if (why) why += `: ${a.body.slice(0, 200)}`;
      } catch (err) {
        why = `no answer: ${(err as Error).message}`;
      }
      const tally = byFamily.get(g.family) ?? new Map<number, number>();
      tally.set(status, (tally.get(status) ?? 0) + 1);
      byFamily.set(g.family, tally);
      if (why && failures.length < 30) failures.push(`#${i} ${describeReq(g)} → ${why}`);
    });
    http.close();
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const lines = [...byFamily].map(
      ([family, t]) => `  ${family.padEnd(26)} ${[...t].map(([s, n]) => `${s}×${n}`).join(" ")}`,
    );
    process.stdout.write(`fuzz: ${COUNT} requests in ${seconds} s\n${lines.join("\n")}\n`);

    expect(failures, `seed ${SEED}`).toEqual([]);
    // Every kind of request was sent, and many of each.
    expect(byFamily.size).toBeGreaterThanOrEqual(15);
    expect(await snapshot()).toEqual(before);
  });
});
