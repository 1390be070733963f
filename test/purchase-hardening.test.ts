import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scanKeys } from "../shared/redis.js";
import { formatCode, newCodeSecret, newTicketKey, parseCode } from "../shared/ticket/codes.js";
import type { TicketView } from "../shared/ticket/view.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";

type Error = { error: { code: string; message: string } };

describe("POST /purchase takes the client's rate-limit token, as checkout does (1 per 20 s, burst 4)", () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({
      env: {
        RATE_USER_PER_S: "0",
        // Slow refill, so no token comes back while the test runs, however loaded the machine.
        RATE_CLIENT_PER_S: "0.05",
        RATE_CLIENT_BURST: "4",
        CHECKOUT_MODE: "two_step",
      },
    });
  });
  afterAll(async () => {
    await env?.close();
  });

  it("a sale two_step by default takes hold_s without checkout_mode", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "H", stock: 10 }], hold_s: 30 });
    expect((await env.json(`/sales/${saleId}`)).body).toMatchObject({
      checkout_mode: "two_step",
      hold_s: 30,
    });
  });

  it("purchases past the bucket get 429 rate_limited with Retry-After; a malformed one is still 400", async () => {
    const buy = (code: string) =>
      env.json<TicketView & Error>(`/purchase?code=${encodeURIComponent(code)}`, { method: "POST" });
    // Token 1: the checkout; 2: paying for its hold; 3 and 4: codes nobody holds.
    const held = await env.json<{ code: string; ticket_id: string }>("/checkout?user_id=u1&id=H&wait=10000", {
      method: "POST",
    });
    expect(held.status).toBe(202);
    expect((await buy(held.body.code)).status).toBe(202);
    for (let i = 0; i < 2; i++) expect((await buy("1-1.AAAAAAAAAAAAAAAAAAAAAA")).status).toBe(404);

    const over = await buy(held.body.code);
    expect(over.status).toBe(429);
    expect(over.body).toEqual({ error: { code: "rate_limited", message: expect.any(String) } });
    // A token every 20 s, in whole seconds rounded up.
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(over.headers.get("retry-after"))).toBeLessThanOrEqual(20);

    // Validation comes first: a request without a code is a 400 whatever the bucket says.
    const missing = await env.json<Error>("/purchase", { method: "POST" });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe("invalid_request");
    // One bucket for both steps: checkout is refused too.
    const checkout = await env.json<Error>("/checkout?user_id=u2&id=H", { method: "POST" });
    expect(checkout.status).toBe(429);
    expect(checkout.body.error.code).toBe("rate_limited");
  });
});

describe("POST /admin/sales refuses hold_s for a direct sale (CHECKOUT_MODE=direct)", () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ workers: 0 });
  });
  afterAll(async () => {
    await env?.close();
  });

  const post = (body: unknown) =>
    env.json<Error>("/admin/sales", { method: "POST", admin: true, json: body });

  /** What a created sale leaves behind: its rows in PostgreSQL and its keys in Redis. */
  async function footprint() {
    const [rows] = await env.deps.db.client<{ sales: number; items: number }[]>`
      select (select count(*)::int from sales) as sales, (select count(*)::int from items) as items`;
    const keys: string[] = [];
    for await (const found of scanKeys(env.deps.redis, `${env.deps.keys.prefix}:{s*`)) keys.push(...found);
    const listed = await env.deps.redis.zcard(env.deps.keys.timeline);
    return { rows, keys: keys.sort(), listed };
  }

  it("hold_s with checkout_mode direct, or with no mode (direct by default): 400 naming hold_s, nothing written", async () => {
    await env.createSale({ items: [{ item_id: "before", stock: 1 }] });
    const before = await footprint();
    for (const body of [
      { items: [{ item_id: "X", stock: 5 }], checkout_mode: "direct", hold_s: 30 },
      { items: [{ item_id: "X", stock: 5 }], hold_s: 30 },
      { items: 3, hold_s: 1, starts_in_s: 60 },
    ]) {
      const r = await post(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe("invalid_request");
      expect(r.body.error.message).toMatch(/^hold_s: .*two_step/);
    }
    expect(await footprint()).toEqual(before);
  });

  it("hold_s with checkout_mode two_step still creates the sale with that hold; direct without it has none", async () => {
    const twoStep = await env.createSale({
      items: [{ item_id: "T", stock: 5 }],
      checkout_mode: "two_step",
      hold_s: 45,
    });
    expect((await env.json(`/sales/${twoStep}`)).body).toMatchObject({
      checkout_mode: "two_step",
      hold_s: 45,
    });
    const direct = await env.createSale({ items: [{ item_id: "D", stock: 5 }], checkout_mode: "direct" });
    expect((await env.json(`/sales/${direct}`)).body).toMatchObject({
      checkout_mode: "direct",
      hold_s: null,
    });
  });
});

describe("checkout codes", () => {
  it("parse back to the ticket they were made for; anything else is null", () => {
    const secret = newCodeSecret();
    const key = newTicketKey();
    const id = `12-345-${key}`;
    expect(parseCode(formatCode(id, secret))).toEqual({ saleId: "12", seq: "345", key, secret });
    for (const bad of [
      "",
      id,
      `${id}${secret}`,
      `${id}.${secret}x`,
      `${id}.${secret.slice(1)}`,
      `${id}.${secret.slice(1)}.`,
      `${id}.${secret.slice(1)}=`,
      `12-345.${secret}`,
      `12.345-${key}.${secret}`,
      `a-345-${key}.${secret}`,
      `12-.${secret}`,
      `-345.${secret}`,
      `12-345-6.${secret}`,
      `1234567890123456789-1.${secret}`,
      ` 12-345.${secret}`,
      `12-345.${secret}\n`,
    ])
      expect(parseCode(bad), JSON.stringify(bad)).toBeNull();
  });
});
