import { crowd } from "../tools/harness/crowd.js";
import { createProcessEnv } from "../tools/harness/env.js";
import { waitForRest } from "../tools/harness/invariants.js";

// How many Redis commands (counting those inside Lua scripts) and PostgreSQL
// transactions one purchase costs, end to end: `npx tsx scripts/measure-redis.ts [items]`.
// Uses its own Redis prefix and database; run it on a quiet machine, since Redis's
// command statistics are server-wide.

const items = Number(process.argv[2] ?? 2000);
const env = await createProcessEnv({
  env: { PAYMENT_SLOTS: "500", PAYMENT_LATENCY_MIN_MS: "0", PAYMENT_LATENCY_MAX_MS: "0" },
});

async function redisCommands(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const line of (await env.deps.redis.info("commandstats")).split("\n")) {
    const m = /^cmdstat_([\w|]+):calls=(\d+)/.exec(line);
    if (m?.[1]) out[m[1]] = Number(m[2]);
  }
  return out;
}
async function pgCommits(): Promise<number> {
  const [row] = await env.deps.db.client<{ n: string }[]>`
    select xact_commit::text as n from pg_stat_database where datname = current_database()`;
  return Number(row?.n ?? 0);
}

try {
  const saleId = await env.createSale({ items, stock_per_item: 1 });
  const [r0, p0] = [await redisCommands(), await pgCommits()];
  await crowd(items, 100, async (i) => {
    const res = await env.request(`/checkout?user_id=u${i}&id=${i + 1}`, { method: "POST" });
    await res.body?.cancel();
  });
  await waitForRest(env.deps, saleId, 120_000);
  const [r1, p1] = [await redisCommands(), await pgCommits()];
  const delta = Object.entries(r1)
    .map(([k, v]) => [k, v - (r0[k] ?? 0)] as const)
    .filter(([, d]) => d > 0)
    .sort((a, b) => b[1] - a[1]);
  const total = delta.reduce((a, [, d]) => a + d, 0);
  console.log(`purchases: ${items}`);
  console.log(`redis commands per purchase: ${(total / items).toFixed(1)}`);
  for (const [k, d] of delta.slice(0, 15)) console.log(`  ${k.padEnd(24)} ${(d / items).toFixed(2)}`);
  console.log(`postgres transactions per purchase: ${((p1 - p0) / items).toFixed(3)}`);
} finally {
  await env.close();
}
