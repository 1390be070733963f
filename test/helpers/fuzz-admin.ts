import { type FuzzCtx, type FuzzRequest, JSON_HEADERS, segment } from "./fuzz-common.js";
import { badIdValue, badString, MALFORMED_JSON } from "./fuzz-values.js";
import type { Rng } from "./prng.js";

// Admin calls: without valid credentials, or with them and a body that has at least one bad field.

const ADMIN_ROUTES: [string, string][] = [
  ["POST", "/admin/sales"],
  ["GET", "/admin/payments"],
  ["PUT", "/admin/payments"],
  ["PUT", "/admin/payments/profile"],
  ["POST", "/admin/items/A1/stock"],
  ["GET", "/admin/live"],
  ["GET", "/admin/queues"],
  ["GET", "/admin/"],
  ["GET", "/admin/nope"],
];

export function adminNoAuth(r: Rng): FuzzRequest {
  const [method, path] = r.pick(ADMIN_ROUTES);
  const user = r.pick(["admin", "root", "", badString(r).replace(/[^\x20-\x7e]/g, "?")]);
  const auth = r.pick([
    undefined,
    `Basic ${Buffer.from(`${user}:wrong`).toString("base64")}`,
    `Basic ${Buffer.from(`admin:${r.int(1e6)}`).toString("base64")}`,
    "Bearer test-secret",
    "Basic !!!",
    "Basic",
    `Basic ${Buffer.from("admin").toString("base64")}`,
  ]);
  const headers: Record<string, string> = { ...JSON_HEADERS };
  if (auth) headers.authorization = auth;
  const body = method === "GET" ? undefined : JSON.stringify({ items: 1, delta: 1, failure_rate: 0 });
  return { family: "admin without credentials", method, path, headers, ...(body ? { body } : {}) };
}

/** Sets one field of a valid body to a bad value (or adds an unknown one): the body as a whole is bad. */
export function spoil(r: Rng, valid: Record<string, unknown>, bad: Record<string, unknown[]>): string {
  const body: Record<string, unknown> = { ...valid };
  const fields = Object.keys(bad);
  if (r.chance(0.1) || fields.length === 0) body[`x_${r.int(100)}`] = r.int(10);
  else {
    const f = r.pick(fields);
    body[f] = r.pick(bad[f] ?? [null]);
  }
  if (r.chance(0.05)) return r.pick(MALFORMED_JSON);
  return JSON.stringify(body);
}

// Infinity, which JSON writes as null.
const NOT_INT = [1.5, "5", null, true, [], {}, -0.5, Number.POSITIVE_INFINITY];

export function adminBad(r: Rng, ctx: FuzzCtx): FuzzRequest {
  const headers = { ...JSON_HEADERS, authorization: ctx.adminAuth };
  const k = r.int(4);
  if (k === 0) {
    const item = { item_id: "N1", stock: 1 };
    const body = spoil(
      r,
      { items: 2, duration_s: 60 },
      {
        items: [
          0,
          -1,
          100_001,
          ...NOT_INT,
          [],
          [{}],
          [{ ...item, item_id: badIdValue(r) }],
          [{ ...item, stock: -1 }],
          [{ ...item, stock: "1" }],
          [item, item],
          [{ ...item, name: "" }],
          [{ ...item, image_url: "not a url" }],
          [{ ...item, price: 1 }],
        ],
        stock_per_item: [-1, 1_000_001, ...NOT_INT],
        duration_s: [0, -5, 7 * 24 * 3600 + 1, ...NOT_INT],
        user_limit: [0, -1, 1_000_001, ...NOT_INT],
      },
    );
    return { family: "admin sales", method: "POST", path: "/admin/sales", headers, body };
  }
  if (k === 1) {
    const body = spoil(
      r,
      { failure_rate: 0 },
      {
        failure_rate: [2, -0.1, "0.5", null, true, [], Number.NaN],
        hang_rate: [1.5, -1, "0", null],
        latency_ms: [{ min: 10, max: 5 }, { min: -1, max: 5 }, 5, { min: 1 }, { min: 1.5, max: 2 }, null],
        timeout_ms: [0, 600_001, ...NOT_INT],
        slots: [0, -1, 100_001, ...NOT_INT],
      },
    );
    return { family: "admin payments", method: "PUT", path: "/admin/payments", headers, body };
  }
  if (k === 2) {
    const body = spoil(
      r,
      { name: null },
      {
        name: ["chaos", "", "HEALTHY", 1, true, [], {}, badString(r)],
        duration_s: [0, -1, 86_401, ...NOT_INT],
      },
    );
    return { family: "admin profile", method: "PUT", path: "/admin/payments/profile", headers, body };
  }
  // Stock: a bad delta or sale id for a real item, or any delta for an item that is not there.
  if (r.chance(0.3)) {
    const body = JSON.stringify({ delta: r.pick([1, -1, 5]) });
    return { family: "admin stock", method: "POST", path: `/admin/items/${segment(r)}/stock`, headers, body };
  }
  const body = spoil(
    r,
    { delta: 1 },
    {
      delta: [0, -0, 1_000_001, -1_000_001, -1_000, ...NOT_INT],
      sale_id: [1, "abc", `0${ctx.saleId}`, "987654", null, badString(r)],
    },
  );
  return { family: "admin stock", method: "POST", path: "/admin/items/A1/stock", headers, body };
}
