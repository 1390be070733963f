import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_ACTIONS_KEPT, type AdminAction } from "../api/admin-actions.js";
import { startApi } from "../api/start.js";
import { ADMIN, createTestEnv, httpClient, type TestEnv } from "../tools/harness/env.js";

// The admin action log (issue 15): every change made under /admin is one log line with
// who and what, and the newest are kept in Redis for the live page's panel.

let env: TestEnv;
let api: Awaited<ReturnType<typeof startApi>>;
let http: ReturnType<typeof httpClient>;
const lines: Record<string, unknown>[] = [];

const actions = async (query = "") => {
  const res = await http.json<{ actions: AdminAction[] }>(`/admin/actions${query}`, { admin: true });
  expect(res.status).toBe(200);
  return res.body.actions;
};

beforeAll(async () => {
  env = await createTestEnv({ workers: 1 });
  // A second API on the same stores, whose log lines this suite reads.
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  api = await startApi({ ...env.deps, log: pino({ level: "info" }, sink) }, 0);
  http = httpClient(api.url);
});

afterAll(async () => {
  await api?.close();
  await env?.close();
});

describe("the admin action log", () => {
  it("logs each change under /admin with who, what and the outcome, keeps it for the live page, and leaves reads out", async () => {
    const items = Array.from({ length: 7 }, (_, i) => ({ item_id: `log-${i}`, stock: 3 }));
    const created = await http.json<{ sale_id: string }>("/admin/sales", {
      method: "POST",
      admin: true,
      json: { items, user_limit: 2, duration_s: 600 },
    });
    expect(created.status).toBe(201);
    const saleId = created.body.sale_id;
    const sent = [
      ["PUT", "/admin/payments", { failure_rate: 0.25 }, 200],
      ["PUT", "/admin/payments/profile", { name: "slow", duration_s: 30 }, 200],
      ["PUT", "/admin/payments/profile", { name: null }, 200],
      ["POST", "/admin/items/log-3/stock", { delta: 2, sale_id: saleId }, 200],
      // Refused: more units than are available, and a body no schema takes.
      ["POST", "/admin/items/log-3/stock", { delta: -100, sale_id: saleId }, 409],
      ["PUT", "/admin/payments", { failure_rate: 7 }, 400],
    ] as const;
    for (const [method, path, json, status] of sent) {
      const res = await http.request(path, { method, admin: true, json });
      expect(res.status, `${method} ${path}`).toBe(status);
    }
    // Reads change nothing and are not logged.
    for (const path of [
      "/admin/payments",
      "/admin/live",
      "/admin/actions",
      "/admin",
      "/admin/queues/api/queues",
    ]) {
      expect((await http.request(path, { admin: true })).status, path).toBe(200);
    }

    const got = await actions();
    expect(got).toHaveLength(1 + sent.length);
    const [first, ...rest] = [...got].reverse();
    expect(first).toMatchObject({
      user: ADMIN.user,
      method: "POST",
      path: "/admin/sales",
      status: 201,
      outcome: "ok",
      sale_id: saleId,
      // A long list is its length, not its items.
      request: { json: { items: "7 entries", user_limit: 2, duration_s: 600 } },
    });
    expect(rest.map((a) => [a.method, a.path, a.status, a.outcome])).toEqual([
      ["PUT", "/admin/payments", 200, "ok"],
      ["PUT", "/admin/payments/profile", 200, "ok"],
      ["PUT", "/admin/payments/profile", 200, "ok"],
      ["POST", "/admin/items/log-3/stock", 200, "ok"],
      ["POST", "/admin/items/log-3/stock", 409, "insufficient_stock"],
      ["PUT", "/admin/payments", 400, "invalid_request"],
    ]);
    expect(rest[0]?.request).toEqual({ json: { failure_rate: 0.25 } });
    expect(rest[1]?.request).toEqual({ json: { name: "slow", duration_s: 30 } });
    expect(rest[3]?.request).toEqual({ param: { item_id: "log-3" }, json: { delta: 2, sale_id: saleId } });
    // What no schema accepted is not written anywhere.
    expect(rest[5]?.request).toBeNull();
    for (const a of got) expect(a.from).not.toBe("");

    // One log line each, with the same record and the request's id; no reads, no password.
    const logged = lines.filter((l) => l.msg === "admin action");
    expect(logged.map((l) => l.admin)).toEqual([...got].reverse());
    for (const l of logged) expect(l.reqId).toEqual(expect.any(String));
    expect(JSON.stringify(lines)).not.toContain(ADMIN.password);
  });

  it("keeps the newest actions only, of every API process", async () => {
    const before = (await actions()).length;
    const burst = ADMIN_ACTIONS_KEPT + 5;
    for (let i = 0; i < burst; i++) {
      // Half through each API: both write to the one list.
      const via = i % 2 ? env : http;
      const res = await via.request("/admin/payments", {
        method: "PUT",
        admin: true,
        json: { slots: 10 + i },
      });
      expect(res.status).toBe(200);
    }
    expect(before).toBeLessThan(ADMIN_ACTIONS_KEPT);
    const got = await actions();
    expect(got).toHaveLength(ADMIN_ACTIONS_KEPT);
    expect(got[0]?.request).toEqual({ json: { slots: 10 + burst - 1 } });
    expect(got.at(-1)?.request).toEqual({ json: { slots: 10 + burst - ADMIN_ACTIONS_KEPT } });
    expect(await actions("?limit=3")).toEqual(got.slice(0, 3));
    expect(await env.deps.redis.llen(env.deps.keys.adminActions)).toBe(ADMIN_ACTIONS_KEPT);
  });

  it("needs the admin credentials to read", async () => {
    expect((await http.request("/admin/actions")).status).toBe(401);
  });
});
