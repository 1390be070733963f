import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crowd } from "../tools/harness/crowd.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { waitForRest } from "../tools/harness/invariants.js";

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => {
  await env?.close();
});

const ADMIN_ROUTES: [string, string][] = [
  ["GET", "/admin"],
  ["GET", "/admin/assets/app.js"],
  ["GET", "/admin/live"],
  ["GET", "/admin/payments"],
  ["PUT", "/admin/payments"],
  ["PUT", "/admin/payments/profile"],
  ["POST", "/admin/sales"],
  ["POST", "/admin/items/1/stock"],
  ["GET", "/admin/queues"],
  ["GET", "/admin/queues/api/queues"],
];

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** One sample of a Prometheus text exposition: `name{labels} value` → value. */
function metric(text: string, name: string, labels = ""): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ""} `));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("admin auth", () => {
  it.each(ADMIN_ROUTES)(
    "%s %s answers 401 without credentials and with a wrong password",
    async (method, path) => {
      for (const authorization of [undefined, basic("admin", "wrong"), basic("intruder", "test-secret")]) {
        const res = await env.request(path, {
          method,
          headers: authorization ? { authorization } : {},
          json: method === "GET" ? undefined : {},
        });
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toMatch(/^Basic /);
        expect(await res.json()).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
      }
    },
  );
});

describe("metrics", () => {
  it("count checkouts, tickets, payments and stock as a sale runs", async () => {
    const before = await (await env.request("/metrics")).text();
    await env.setPayments({ failure_rate: 0, hang_rate: 0, latency_ms: { min: 1, max: 5 } });
    const saleId = await env.createSale({ items: 30, stock_per_item: 1 });
    // 30 buyers for 30 items, then 10 more for items already sold.
    await crowd(40, 40, (i) => env.request(`/checkout?user_id=m${i}&id=${(i % 30) + 1}`, { method: "POST" }));
    await waitForRest(env.deps, saleId);
    // Processes flush their counts to Redis twice a second.
    await new Promise((r) => setTimeout(r, 700));
    const after = await (await env.request("/metrics")).text();
    const delta = (name: string, labels = "") => metric(after, name, labels) - metric(before, name, labels);

    expect(delta("flashsale_tickets_total", 'status="purchased",reason=""')).toBe(30);
    expect(delta("flashsale_payments_total", 'outcome="approved"')).toBe(30);
    expect(delta("flashsale_payment_duration_seconds_count")).toBe(30);
    // Each purchase settled once, in one of the transactions counted.
    expect(delta("flashsale_settlement_lag_seconds_count", 'outcome="settled"')).toBe(30);
    expect(delta("flashsale_settlement_lag_seconds_sum", 'outcome="settled"')).toBeGreaterThan(0);
    expect(delta("flashsale_settlement_batch_size_sum")).toBe(30);
    expect(delta("flashsale_settlement_batch_size_count")).toBeGreaterThan(0);
    const accepted = delta("flashsale_checkouts_total", 'outcome="accepted"');
    const refused = delta("flashsale_checkouts_total", 'outcome="sold_out"');
    expect(accepted + refused).toBe(40);
    expect(metric(after, "flashsale_sale_stock_units", `sale_id="${saleId}",state="sold"`)).toBe(30);
    expect(metric(after, "flashsale_sale_stock_units", `sale_id="${saleId}",state="available"`)).toBe(0);
    expect(delta("flashsale_http_requests_total", 'method="POST",route="/checkout",status="202"')).toBe(
      accepted,
    );
    expect(after).toContain('flashsale_queue_jobs{queue="checkout",state="waiting"}');
    expect(after).toContain('flashsale_payment_slots{kind="cap"}');
    expect(after).toMatch(/^process_cpu_seconds_total /m);
  });
});

describe("live data and fault profiles", () => {
  it("a profile overrides the settings until it ends, and a manual change ends it", async () => {
    await env.setPayments({ failure_rate: 0.1 });
    const on = await env.json<{ failure_rate: number; profile: { name: string; remaining_s: number } }>(
      "/admin/payments/profile",
      { method: "PUT", admin: true, json: { name: "flaky", duration_s: 30 } },
    );
    expect(on.body.failure_rate).toBeCloseTo(44 / 45);
    expect(on.body.profile).toMatchObject({ name: "flaky", remaining_s: 30 });
    const off = await env.json<{ failure_rate: number; profile: null }>("/admin/payments/profile", {
      method: "PUT",
      admin: true,
      json: { name: null },
    });
    expect(off.body).toMatchObject({ failure_rate: 0.1, profile: null });
    await env.json("/admin/payments/profile", { method: "PUT", admin: true, json: { name: "outage" } });
    const manual = await env.setPayments({ slots: 7 });
    expect(manual).toMatchObject({ slots: 7, hang_rate: 0, profile: null });
    const bad = await env.json("/admin/payments/profile", {
      method: "PUT",
      admin: true,
      json: { name: "doom" },
    });
    expect(bad.status).toBe(400);
  });

  it("/admin/live reports the sale, totals and a history for the chart", async () => {
    const live = await env.json<{ sale: unknown; totals: { checkouts: object }; history: unknown[] }>(
      "/admin/live",
      { admin: true },
    );
    expect(live.status).toBe(200);
    expect(live.body.totals.checkouts).toBeTypeOf("object");
    await new Promise((r) => setTimeout(r, 1200));
    const again = await env.json<{ history: { t: number; accepted: number }[] }>("/admin/live", {
      admin: true,
    });
    expect(again.body.history.length).toBeGreaterThanOrEqual(1);
  });
});

describe("request ids", () => {
  it("a sane X-Request-Id is echoed back, and a request without one gets a fresh id", async () => {
    const mine = await env.request("/health", { headers: { "x-request-id": "trace-123" } });
    expect(mine.headers.get("x-request-id")).toBe("trace-123");
    const fresh = await env.request("/health", { headers: { "x-request-id": "bad id!" } });
    expect(fresh.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
