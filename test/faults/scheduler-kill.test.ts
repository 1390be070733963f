import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hourlySlotKey } from "../../scheduler/calendar.js";
import type { Config } from "../../shared/config.js";
import { runMigrations } from "../../shared/db/migrate.js";
import { createDeps, type Deps } from "../../shared/deps.js";
import { hourStart, sleep } from "../../shared/time.js";
import { auditSale } from "../../tools/audit/audit.js";
import { dropAll, testConfig } from "../../tools/harness/env.js";
import { envOf, type Role, startRole } from "../../tools/harness/processes.js";
import { recordDrill } from "../helpers/drill.js";

// Drill: a scheduler SIGKILLed while it creates this hour's sale (after PostgreSQL
// committed it, while its items are being loaded into Redis), then two schedulers
// started at once: exactly one complete sale for the window, in both stores.

const SALE_ITEMS = 20_000;
const START_MS = 60_000;

let cfg: Config;
let deps: Deps;
const roles: Role[] = [];
beforeAll(async () => {
  cfg = testConfig({ SCHEDULER_HOURLY: "true", SALE_ITEMS: String(SALE_ITEMS), SALE_LEAD_S: "0" });
  await runMigrations(cfg.DATABASE_URL);
  deps = await createDeps(cfg, "test");
});
afterAll(async () => {
  await Promise.all(roles.map((r) => r.kill("SIGKILL")));
  if (deps) await dropAll(deps);
});

async function redisItems(saleId: string) {
  const rows = await deps.db.client<{ item_id: string }[]>`
    select item_id from items where sale_id = ${Number(saleId)}`;
  const pipe = deps.redis.pipeline();
  for (const r of rows) pipe.exists(deps.keys.item(saleId, r.item_id));
  return ((await pipe.exec()) ?? []).filter(([, v]) => v === 1).length;
}

describe("drill: scheduler killed while creating a sale", () => {
  it("the next schedulers, two at once, finish it: one sale per window with all its items in both stores", async () => {
    const slotKey = hourlySlotKey(hourStart(Date.now()));
    // Ready to work once its Redis check is done; the sale is created right after.
    const first = await startRole("scheduler", envOf(cfg), /redis epoch set/, START_MS);
    roles.push(first);
    let saleId: string | undefined;
    for (let waited = 0; !saleId && waited < START_MS; waited += 10) {
      const [row] = await deps.db.client<
        { id: string }[]
      >`select id::text from sales where slot_key = ${slotKey}`;
      saleId = row?.id;
      if (!saleId) await sleep(10);
    }
    if (!saleId) throw new Error(`no sale for ${slotKey}:\n${first.output()}`);
    // Kill it once it has begun loading items into Redis (the first, in load order, is there).
    const [firstItem] = await deps.db.client<{ item_id: string }[]>`
      select min(item_id) as item_id from items where sale_id = ${Number(saleId)}`;
    const probe = deps.keys.item(saleId, firstItem?.item_id ?? "");
    for (let waited = 0; waited < 5000 && (await deps.redis.exists(probe)) === 0; waited += 2) await sleep(2);
    expect(await first.kill("SIGKILL")).toBe("SIGKILL");
    const killedAt = Date.now();
    const atKill = {
      items: await redisItems(saleId),
      published: (await deps.redis.exists(deps.keys.sale(saleId))) === 1,
    };

    const [a, b] = await Promise.all(
      [1, 2].map(() => startRole("scheduler", envOf(cfg), /scheduler ready/, START_MS)),
    );
    if (!a || !b) throw new Error("schedulers did not start");
    roles.push(a, b);
    const recoveryMs = Date.now() - killedAt;

    const sales = await deps.db.client<{ id: string; items: number; stock: number }[]>`
      select s.id::text,
             (select count(*)::int from items i where i.sale_id = s.id) as items,
             (select coalesce(sum(i.stock), 0)::int from items i where i.sale_id = s.id) as stock
      from sales s where s.slot_key = ${slotKey}`;
    expect(sales).toEqual([{ id: saleId, items: SALE_ITEMS, stock: SALE_ITEMS * cfg.SALE_STOCK_PER_ITEM }]);
    expect(await deps.db.client`select id from sales`).toHaveLength(1);
    expect(await redisItems(saleId)).toBe(SALE_ITEMS);
    expect(await deps.redis.hmget(deps.keys.sale(saleId), "st", "n", "tot", "av")).toEqual([
      "open",
      String(SALE_ITEMS),
      String(SALE_ITEMS * cfg.SALE_STOCK_PER_ITEM),
      String(SALE_ITEMS * cfg.SALE_STOCK_PER_ITEM),
    ]);
    const audit = await auditSale(deps, saleId);
    expect(audit.checks.filter((c) => c.violations.length)).toEqual([]);

    recordDrill({
      drill: "scheduler-kill",
      load: `hourly sale of ${SALE_ITEMS.toLocaleString("en")} items being created`,
      fault: `scheduler SIGKILLed after PostgreSQL committed the sale (${atKill.items} items in Redis, sale ${atKill.published ? "published" : "not published"}), then two schedulers at once`,
      recovery: "kill → both new schedulers ready, sale complete",
      recovery_ms: recoveryMs,
      answers: {},
      audit,
      extra: { redis_items_at_kill: atKill.items },
    });
  }, 180_000);
});
