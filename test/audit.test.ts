import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crowd } from "../tools/harness/crowd.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { waitForRest } from "../tools/harness/invariants.js";
import { envOf } from "../tools/harness/processes.js";

// `npm run audit` run as a real process, as an operator or a drill would, against
// a clean sale and against sales corrupted in one store.

const root = fileURLToPath(new URL("..", import.meta.url));
const INVARIANTS = [
  "no_oversell",
  "no_double_sale",
  "user_limit",
  "two_guards",
  "tickets_final",
  "conservation",
  "reserved_zero",
  "durability",
  "slot_cap",
  "stores_agree",
];

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => {
  await env?.close();
});

function audit(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn("npm", ["run", "--silent", "audit", "--", ...args], {
    cwd: root,
    env: envOf(env.cfg, { LOG_LEVEL: "warn" }),
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, out, err })));
}

/** A small sale, sold by a crowd and at rest: 3 items of stock 4, 20 buyers, 2 units each at most. */
async function soldSale(): Promise<string> {
  const saleId = await env.createSale({
    items: [
      { item_id: "a", stock: 4 },
      { item_id: "b", stock: 4 },
      { item_id: "c", stock: 4 },
    ],
    user_limit: 2,
  });
  // Each test's sale has the same item ids as the others still open: each checkout names its sale.
  await crowd(60, 30, (i) =>
    env
      .request(`/checkout?user_id=u${i % 20}&id=${"abc"[i % 3]}&sale_id=${saleId}`, { method: "POST" })
      .then((r) => r.text()),
  );
  await waitForRest(env.deps, saleId);
  return saleId;
}

const line = (out: string, id: string) =>
  out.split("\n").find((l) => new RegExp(`^\\w+\\s+${id}\\s`).test(l));

describe("npm run audit", () => {
  it("on a clean sale prints every invariant OK with its count and exits 0", async () => {
    const saleId = await soldSale();
    const r = await audit("--sale", saleId);
    expect(r.code, r.out + r.err).toBe(0);
    for (const id of INVARIANTS) expect(line(r.out, id), id).toMatch(/^OK\s+\S+\s+\d+ /);
    expect(line(r.out, "no_oversell")).toMatch(/\s3 items:/);
    expect(line(r.out, "sold")).toMatch(/^INFO\s+sold\s+12 units/);
    expect(r.out).toMatch(/all invariants hold/);

    const json = await audit("--sale", saleId, "--json", "--wait", "5");
    expect(json.code).toBe(0);
    const report = JSON.parse(json.out) as {
      ok: boolean;
      checks: { id: string; status: string; checked: number }[];
    };
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.id)).toEqual([...INVARIANTS.slice(0, 9), "stores_agree", "sold"]);
    expect(report.checks.find((c) => c.id === "no_double_sale")).toMatchObject({ status: "ok", checked: 12 });
  });

  it("a unit conjured in Redis (available bumped) is a conservation violation: exit 1", async () => {
    const saleId = await soldSale();
    await env.deps.redis.hincrby(env.deps.keys.item(saleId, "b"), "av", 1);
    const r = await audit("--sale", saleId);
    expect(r.code, r.out + r.err).toBe(1);
    expect(line(r.out, "conservation")).toMatch(
      /^VIOLATION\s+conservation\s+2 violations in 4 items \+ sale/,
    );
    expect(r.out).toMatch(/item b: available 1 \+ reserved 0 \+ sold 4 != stock 4/);
    expect(line(r.out, "no_oversell")).toMatch(/^OK/);
    const json = JSON.parse((await audit("--sale", saleId, "--json")).out) as {
      ok: boolean;
      checks: { id: string; status: string }[];
    };
    expect(json.ok).toBe(false);
    expect(json.checks.filter((c) => c.status === "violation").map((c) => c.id)).toEqual(["conservation"]);
  });

  it("a purchase lost from PostgreSQL is a durability violation naming the ticket: exit 1", async () => {
    const saleId = await soldSale();
    const sql = env.deps.db.client;
    const [gone] = await sql<{ ticket_id: string }[]>`
      delete from purchases where id = (select min(id) from purchases where sale_id = ${Number(saleId)})
      returning ticket_id`;
    const r = await audit("--sale", saleId);
    expect(r.code, r.out + r.err).toBe(1);
    expect(line(r.out, "durability")).toMatch(/^VIOLATION/);
    expect(r.out).toContain(`ticket ${gone?.ticket_id} is purchased but PostgreSQL has no purchase for it`);
    expect(line(r.out, "stores_agree")).toMatch(/^VIOLATION/);
  });

  it("a sale neither store knows is a violation, and bad usage exits 2", async () => {
    const r = await audit("--sale", "987654");
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/PostgreSQL has no sale 987654/);
    expect((await audit()).code).toBe(2);
    const bad = await audit("--sale", "x1");
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--sale must be a sale id/);
  });
});
