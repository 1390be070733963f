import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";

// Every case sends one bad request and expects the contract's 4xx with exactly
// {"error": {"code", "message"}}; the last test checks that none of them wrote anything.

interface Bad {
  what: string;
  method?: string;
  /** `{sale}` is replaced by the suite's sale id, here and in the body. */
  path: string;
  json?: unknown;
  /** A raw body, for what JSON.stringify cannot produce. */
  body?: string;
  headers?: Record<string, string>;
  admin?: boolean;
  status: number;
  code: string;
}

let env: TestEnv;
let saleId: string;
let before: Snapshot;

beforeAll(async () => {
  env = await createTestEnv();
  saleId = await env.createSale({
    items: [
      { item_id: "A1", stock: 5, name: "A one" },
      { item_id: "B2", stock: 3, name: "B two" },
    ],
  });
  before = await snapshot();
});
afterAll(async () => {
  await env?.close();
});

const fill = (s: string) => s.replaceAll("{sale}", saleId);
const SNAKE = /^[a-z]+(_[a-z]+)*$/;

async function send(c: Bad) {
  const headers = new Headers(c.headers);
  let body = c.body;
  if (c.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(c.json);
  }
  return env.request(fill(c.path), {
    method: c.method ?? "GET",
    headers,
    admin: c.admin ?? false,
    ...(body === undefined ? {} : { body: fill(body) }),
  });
}

/** Sends a bad request and checks the status and the exact error body; returns the response. */
async function refused(c: Bad) {
  const res = await send(c);
  const text = await res.text();
  expect(res.status, text).toBeGreaterThanOrEqual(400);
  expect(res.status, text).toBeLessThan(500);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body = JSON.parse(text) as { error: { code: string; message: string } };
  expect({ status: res.status, body }).toEqual({
    status: c.status,
    body: { error: { code: c.code, message: expect.stringMatching(/\S/) } },
  });
  expect(body.error.code).toMatch(SNAKE);
  return res;
}

const bad = (what: string, req: Omit<Bad, "what" | "status" | "code">): Bad => ({
  what,
  ...req,
  status: 400,
  code: "invalid_request",
});
/** Each case titled by the behaviour it pins, e.g. "no user_id → 400 invalid_request". */
const named = <C extends Bad>(cases: C[], suffix = "") =>
  cases.map((c) => [`${c.what} → ${c.status} ${c.code}${suffix}`, c] as const);
const as = (status: number, code: string, c: Bad): Bad => ({ ...c, status, code });

const LONG = "x".repeat(65);
// Each is outside [A-Za-z0-9_-]{1,64}; %00 arrives as the NUL character.
const ODD: [string, string][] = [
  ["a space", "a b"],
  ["unicode", "café"],
  ["an emoji", "😀"],
  ["SQL", "'; drop table sales;--"],
  ["a path", "../etc"],
  ["a NUL byte", "a\u0000b"],
  ["a literal %00", "%00"],
  ["a dot", "a.b"],
];
const enc = encodeURIComponent;
const JSON_TYPE = { "content-type": "application/json" };
const MALFORMED = ['{"user_id": "u1",', "{user_id: u1}", "'u1'", '{"a":1} trailing', "[1,]"];

describe("POST /checkout, query form", () => {
  const post = (what: string, query: string, extra: Partial<Bad> = {}) =>
    bad(what, { method: "POST", path: `/checkout${query}`, ...extra });
  it.each(
    named([
      post("no parameters", ""),
      post("no user_id", "?id=A1"),
      post("no item id", "?user_id=u1"),
      post("an empty user_id", "?user_id=&id=A1"),
      post("an empty id", "?user_id=u1&id="),
      post("a 65-character user_id", `?user_id=${LONG}&id=A1`),
      post("a 65-character id", `?user_id=u1&id=${LONG}`),
      post("a broken percent-escape", "?user_id=%E0%A4%A&id=A1"),
      post("a 20000-character id, past Node's 16 KB header limit", `?user_id=u1&id=${"z".repeat(20_000)}`),
      ...ODD.map(([name, v]) => post(`${name} in user_id`, `?user_id=${enc(v)}&id=A1`)),
      ...ODD.map(([name, v]) => post(`${name} in id`, `?user_id=u1&id=${enc(v)}`)),
      post("an Idempotency-Key with a space", "?user_id=u1&id=A1", { headers: { "idempotency-key": "a b" } }),
      post("an empty Idempotency-Key", "?user_id=u1&id=A1", { headers: { "idempotency-key": "" } }),
      post("a 129-character Idempotency-Key", "?user_id=u1&id=A1", {
        headers: { "idempotency-key": "k".repeat(129) },
      }),
      post("a latin-1 Idempotency-Key", "?user_id=u1&id=A1", { headers: { "idempotency-key": "clé" } }),
      post("a negative wait", "?user_id=u1&id=A1&wait=-1"),
      post("a wait over 30000", "?user_id=u1&id=A1&wait=30001"),
      post("a wait that is not a number", "?user_id=u1&id=A1&wait=soon"),
      as(404, "item_not_found", post("an unknown item", "?user_id=u1&id=nope")),
      as(404, "item_not_found", post("an unknown 64-character item", `?user_id=u1&id=${"y".repeat(64)}`)),
    ]),
  )("%s", async (_, c) => {
    await refused(c);
  });
});

describe("POST /checkout, JSON body", () => {
  const post = (what: string, json: unknown, extra: Partial<Bad> = {}) =>
    bad(what, { method: "POST", path: "/checkout", json, ...extra });
  const raw = (what: string, body: string, headers: Record<string, string> = JSON_TYPE) =>
    bad(what, { method: "POST", path: "/checkout", body, headers });
  it.each(
    named([
      post("an empty object", {}),
      post("no user_id", { item_id: "A1" }),
      post("no item_id", { user_id: "u1" }),
      post("a null user_id", { user_id: null, item_id: "A1" }),
      post("a boolean item_id", { user_id: "u1", item_id: true }),
      post("a fractional user_id", { user_id: 1.5, item_id: "A1" }),
      post("a negative user_id", { user_id: -1, item_id: "A1" }),
      post("an unsafe integer item_id", { user_id: "u1", item_id: 1e21 }),
      post("an object item_id", { user_id: "u1", item_id: { id: "A1" } }),
      post("an array user_id", { user_id: ["u1"], item_id: "A1" }),
      post("an unknown field", { user_id: "u1", item_id: "A1", quantity: 2 }),
      post("a 65-character item_id", { user_id: "u1", item_id: LONG }),
      ...ODD.map(([name, v]) => post(`${name} in user_id`, { user_id: v, item_id: "A1" })),
      ...ODD.map(([name, v]) => post(`${name} in item_id`, { user_id: "u1", item_id: v })),
      post("a null body", null),
      post("an array body", [{ user_id: "u1", item_id: "A1" }]),
      post("a string body", "A1"),
      post(
        "a valid body and a bad Idempotency-Key",
        { user_id: "u1", item_id: "A1" },
        {
          headers: { "idempotency-key": "a b" },
        },
      ),
      raw("a __proto__ key", '{"user_id":"u1","item_id":"A1","__proto__":{"admin":true}}'),
      bad("a valid body and a fractional wait", {
        method: "POST",
        path: "/checkout?wait=1.5",
        json: { user_id: "u1", item_id: "A1" },
      }),
      ...MALFORMED.map((body) => raw(`malformed JSON ${body}`, body)),
      as(415, "unsupported_media_type", raw("text/plain", '{"user_id":"u1","item_id":"A1"}', {})),
      as(
        415,
        "unsupported_media_type",
        raw("a form body", "user_id=u1&item_id=A1", { "content-type": "application/x-www-form-urlencoded" }),
      ),
      as(
        413,
        "payload_too_large",
        raw("a 5 MB body", JSON.stringify({ user_id: "u1", item_id: "A1", pad: "p".repeat(5 << 20) })),
      ),
      as(404, "item_not_found", post("an unknown item", { user_id: "u1", item_id: "nope" })),
      as(404, "item_not_found", post("an unknown numeric item", { user_id: 7, item_id: 1001 })),
    ]),
  )("%s", async (_, c) => {
    await refused(c);
  });
});

describe("POST /purchase", () => {
  const query = (what: string, q: string) => bad(what, { method: "POST", path: `/purchase${q}` });
  const body = (what: string, json: unknown) => bad(what, { method: "POST", path: "/purchase", json });
  const unknown = (c: Bad) => as(404, "code_not_found", c);
  it.each(
    named([
      query("no code", ""),
      query("an empty code", "?code="),
      query("a 201-character code", `?code=${"c".repeat(201)}`),
      body("an empty object", {}),
      body("a numeric code", { code: 5 }),
      body("a null code", { code: null }),
      body("an unknown field", { code: "x", user_id: "u1" }),
      body("an array body", [{ code: "x" }]),
      ...MALFORMED.map((b) =>
        bad(`malformed JSON ${b}`, { method: "POST", path: "/purchase", body: b, headers: JSON_TYPE }),
      ),
      as(
        415,
        "unsupported_media_type",
        bad("text/plain", { method: "POST", path: "/purchase", body: '{"code":"x"}' }),
      ),
      unknown(query("a code for no ticket", "?code={sale}-1.AAAAAAAAAAAAAAAAAAAAAA")),
      unknown(query("a code of another sale", "?code=987654-1.AAAAAAAAAAAAAAAAAAAAAA")),
      unknown(query("a code with a short secret", "?code={sale}-1.AAAA")),
      unknown(query("a ticket id alone", "?code={sale}-1")),
      unknown(body("a code in the body for no ticket", { code: "1-1.AAAAAAAAAAAAAAAAAAAAAA" })),
      ...ODD.map(([name, v]) => unknown(query(`${name} as the code`, `?code=${enc(v)}`))),
    ]),
  )("%s", async (_, c) => {
    await refused(c);
  });
});

describe("GET /tickets/:id", () => {
  const get = (what: string, path: string) => bad(what, { path });
  const unknown = (what: string, path: string) => as(404, "ticket_not_found", get(what, path));
  it.each(
    named([
      unknown("an unknown seq", "/tickets/{sale}-999"),
      unknown("seq 0", "/tickets/{sale}-0"),
      unknown("an unknown sale", "/tickets/987654-1"),
      unknown("an unknown ticket with ?wait", "/tickets/{sale}-999?wait=50"),
      unknown("no seq", "/tickets/{sale}"),
      unknown("a 65-character id", `/tickets/${LONG}`),
      unknown("a 19-digit seq", `/tickets/{sale}-${"9".repeat(19)}`),
      ...ODD.map(([name, v]) => unknown(name, `/tickets/${enc(v)}`)),
      get("wait=-1", "/tickets/{sale}-1?wait=-1"),
      get("wait=30001", "/tickets/{sale}-1?wait=30001"),
      get("wait=abc", "/tickets/{sale}-1?wait=abc"),
      get("wait=1.5", "/tickets/{sale}-1?wait=1.5"),
    ]),
  )("%s", async (_, c) => {
    await refused(c);
  });
});

describe("GET /sales and /sales/:id/items", () => {
  const get = (what: string, path: string) => bad(what, { path });
  const unknown = (what: string, path: string) => as(404, "sale_not_found", get(what, path));
  it.each(
    named([
      unknown("an unknown sale", "/sales/987654"),
      unknown("sale 0", "/sales/0"),
      unknown("a sale id with a leading zero", "/sales/0{sale}"),
      unknown("a non-numeric sale id", "/sales/abc"),
      unknown("a 19-digit sale id", `/sales/${"9".repeat(19)}`),
      unknown("the items of an unknown sale", "/sales/987654/items"),
      get("a 65-character sale id", `/sales/${LONG}`),
      ...ODD.map(([name, v]) => get(`${name} in the sale id`, `/sales/${enc(v)}`)),
      get("limit=0", "/sales/{sale}/items?limit=0"),
      get("limit=1001", "/sales/{sale}/items?limit=1001"),
      get("limit=-1", "/sales/{sale}/items?limit=-1"),
      get("limit=1.5", "/sales/{sale}/items?limit=1.5"),
      get("limit=abc", "/sales/{sale}/items?limit=abc"),
      get("an empty limit", "/sales/{sale}/items?limit="),
      get("a 65-character cursor", `/sales/{sale}/items?cursor=${LONG}`),
      ...ODD.map(([name, v]) => get(`${name} in the cursor`, `/sales/{sale}/items?cursor=${enc(v)}`)),
    ]),
  )("%s", async (_, c) => {
    await refused(c);
  });
});

describe("GET /items/:id", () => {
  const get = (what: string, path: string) => bad(what, { path });
  it.each(
    named([
      as(404, "item_not_found", get("an unknown item", "/items/nope")),
      as(404, "item_not_found", get("an unknown 64-character item", `/items/${"y".repeat(64)}`)),
      get("a 65-character id", `/items/${LONG}`),
      get("a 5000-character id", `/items/${"z".repeat(5000)}`),
      get("a 20000-character id, past Node's 16 KB header limit", `/items/${"z".repeat(20_000)}`),
      get("a broken percent-escape", "/items/%E0%A4%A"),
      ...ODD.map(([name, v]) => get(name, `/items/${enc(v)}`)),
    ]),
  )("%s", async (_, c) => {
    await refused(c);
  });
});

describe("GET /users/:id/purchases", () => {
  const get = (what: string, path: string) => bad(what, { path });
  it.each(
    named([
      get("a 65-character user id", `/users/${LONG}/purchases`),
      ...ODD.map(([name, v]) => get(name, `/users/${enc(v)}/purchases`)),
      get("sale_id=abc", "/users/u1/purchases?sale_id=abc"),
      get("sale_id=-1", "/users/u1/purchases?sale_id=-1"),
      get("sale_id=1.5", "/users/u1/purchases?sale_id=1.5"),
      get("an empty sale_id", "/users/u1/purchases?sale_id="),
      get("a sale_id with a leading zero", "/users/u1/purchases?sale_id=0{sale}"),
      get("a 19-digit sale_id", `/users/u1/purchases?sale_id=${"9".repeat(19)}`),
      get("limit=0", "/users/u1/purchases?limit=0"),
      get("limit=1001", "/users/u1/purchases?limit=1001"),
      get("limit=abc", "/users/u1/purchases?limit=abc"),
      get("cursor=abc", "/users/u1/purchases?cursor=abc"),
    ]),
  )("%s", async (_, c) => {
    await refused(c);
  });

  it("an unknown user has no purchases: 200, not an error", async () => {
    const res = await env.json("/users/nobody/purchases");
    expect(res).toMatchObject({ status: 200, body: { purchases: [], next_cursor: null } });
  });
});

describe("admin authentication", () => {
  const wrong = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  const routes: [string, string, unknown][] = [
    ["POST", "/admin/sales", { items: [{ item_id: "Z9", stock: 1 }] }],
    ["GET", "/admin/payments", undefined],
    ["PUT", "/admin/payments", { failure_rate: 1 }],
    ["POST", "/admin/items/A1/stock", { delta: 1 }],
    ["GET", "/admin/nope", undefined],
  ];
  const auths: [string, Record<string, string>][] = [
    ["no credentials", {}],
    ["a wrong password", { authorization: wrong("admin", "wrong") }],
    ["a wrong user", { authorization: wrong("root", "test-secret") }],
    ["an empty password", { authorization: wrong("admin", "") }],
    ["a Bearer token", { authorization: "Bearer test-secret" }],
    ["garbage Basic", { authorization: "Basic !!!" }],
  ];
  const cases = routes.flatMap(([method, path, json]) =>
    auths.map(([how, headers]) =>
      as(401, "unauthorized", bad(`${method} ${path} with ${how}`, { method, path, json, headers })),
    ),
  );
  it.each(named(cases, " and a Basic challenge"))("%s", async (_, c) => {
    const res = await refused(c);
    expect(res.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
  });
});

describe("POST /admin/sales", () => {
  const post = (what: string, json: unknown) =>
    bad(what, { method: "POST", path: "/admin/sales", json, admin: true });
  const item = (over: Record<string, unknown>) => ({ items: [{ item_id: "N1", stock: 1, ...over }] });
  it.each(
    named([
      bad("no body", { method: "POST", path: "/admin/sales", admin: true }),
      post("an empty object", {}),
      post("items: 0", { items: 0 }),
      post("items: -1", { items: -1 }),
      post("items: 100001", { items: 100_001 }),
      post("items: 1.5", { items: 1.5 }),
      post('items: "10"', { items: "10" }),
      post("items: null", { items: null }),
      post("items: []", { items: [] }),
      post("an item without stock", { items: [{ item_id: "N1" }] }),
      post("an item without item_id", { items: [{ stock: 1 }] }),
      post("negative stock", item({ stock: -1 })),
      post("fractional stock", item({ stock: 1.5 })),
      post("string stock", item({ stock: "5" })),
      post("stock above the maximum", item({ stock: 1_000_001 })),
      post("a 65-character item_id", item({ item_id: LONG })),
      ...ODD.map(([name, v]) => post(`${name} in item_id`, item({ item_id: v }))),
      post("an empty name", item({ name: "" })),
      post("a 201-character name", item({ name: "n".repeat(201) })),
      post("an image_url that is not a URL", item({ image_url: "not a url" })),
      post("an unknown item field", item({ price: 10 })),
      post("duplicate item ids", {
        items: [
          { item_id: "D", stock: 1 },
          { item_id: "D", stock: 2 },
        ],
      }),
      post("stock_per_item: -1", { items: 2, stock_per_item: -1 }),
      post("duration_s: 0", { items: 2, duration_s: 0 }),
      post("duration_s over a week", { items: 2, duration_s: 7 * 24 * 3600 + 1 }),
      post('duration_s: "60"', { items: 2, duration_s: "60" }),
      post("user_limit: 0", { items: 2, user_limit: 0 }),
      post("starts_in_s: -1", { items: 2, starts_in_s: -1 }),
      post("starts_in_s: 1.5", { items: 2, starts_in_s: 1.5 }),
      post("an unknown checkout_mode", { items: 2, checkout_mode: "three_step" }),
      post("hold_s: 0", { items: 2, checkout_mode: "two_step", hold_s: 0 }),
      post("hold_s over an hour", { items: 2, hold_s: 3601 }),
      post("an unknown field", { items: 2, starts_at: "2030-01-01T00:00:00Z" }),
      ...MALFORMED.map((body) =>
        bad(`malformed JSON ${body}`, {
          method: "POST",
          path: "/admin/sales",
          body,
          headers: JSON_TYPE,
          admin: true,
        }),
      ),
      as(
        415,
        "unsupported_media_type",
        bad("text/plain", { method: "POST", path: "/admin/sales", body: '{"items":2}', admin: true }),
      ),
    ]),
  )("%s", async (_, c) => {
    await refused(c);
  });
});

describe("PUT /admin/payments", () => {
  const put = (what: string, json: unknown) =>
    bad(what, { method: "PUT", path: "/admin/payments", json, admin: true });
  const raw = (what: string, body: string, headers: Record<string, string> = JSON_TYPE) =>
    bad(what, { method: "PUT", path: "/admin/payments", body, headers, admin: true });
  it.each(
    named([
      bad("no body", { method: "PUT", path: "/admin/payments", admin: true }),
      put("failure_rate: 2", { failure_rate: 2 }),
      put("failure_rate: -0.1", { failure_rate: -0.1 }),
      put('failure_rate: "0.5"', { failure_rate: "0.5" }),
      put("failure_rate: null", { failure_rate: null }),
      raw("failure_rate: 1e400 (Infinity)", '{"failure_rate": 1e400}'),
      put("hang_rate: 1.5", { hang_rate: 1.5 }),
      put("latency min above max", { latency_ms: { min: 10, max: 5 } }),
      put("latency without max", { latency_ms: { min: 1 } }),
      put("negative latency", { latency_ms: { min: -1, max: 5 } }),
      put("latency as a number", { latency_ms: 5 }),
      put("timeout_ms: 0", { timeout_ms: 0 }),
      put("timeout_ms: 600001", { timeout_ms: 600_001 }),
      put("timeout_ms: 1.5", { timeout_ms: 1.5 }),
      put("slots: 0", { slots: 0 }),
      put('slots: "4"', { slots: "4" }),
      put("an unknown field", { failure: 0.5 }),
      put("one good and one bad field", { failure_rate: 0.5, slots: 0 }),
      put("an array body", [{ failure_rate: 0.5 }]),
      ...MALFORMED.map((body) => raw(`malformed JSON ${body}`, body)),
      as(415, "unsupported_media_type", raw("text/plain", '{"failure_rate": 0.5}', {})),
    ]),
  )("%s", async (_, c) => {
    await refused(c);
  });
});

describe("POST /admin/items/:id/stock", () => {
  const post = (what: string, json: unknown, item = "A1") =>
    bad(what, { method: "POST", path: `/admin/items/${item}/stock`, json, admin: true });
  const raw = (what: string, body: string, headers: Record<string, string> = JSON_TYPE) =>
    bad(what, { method: "POST", path: "/admin/items/A1/stock", body, headers, admin: true });
  it.each(
    named([
      bad("no body", { method: "POST", path: "/admin/items/A1/stock", admin: true }),
      post("an empty object", {}),
      post("delta: 0", { delta: 0 }),
      post("delta: 1.5", { delta: 1.5 }),
      post('delta: "1"', { delta: "1" }),
      post("delta: null", { delta: null }),
      post("delta: 1000001", { delta: 1_000_001 }),
      post("delta: -1000001", { delta: -1_000_001 }),
      post("an unknown field", { delta: 1, reason: "restock" }),
      post("a numeric sale_id", { delta: 1, sale_id: 1 }),
      post("sale_id: abc", { delta: 1, sale_id: "abc" }),
      post("a sale_id with a leading zero, adding", { delta: 2, sale_id: "0{sale}" }),
      post("a sale_id with a leading zero, removing", { delta: -1, sale_id: "0{sale}" }),
      post("a 65-character item id", { delta: 1 }, LONG),
      ...ODD.map(([name, v]) => post(`${name} in the item id`, { delta: 1 }, enc(v))),
      ...MALFORMED.map((body) => raw(`malformed JSON ${body}`, body)),
      as(415, "unsupported_media_type", raw("text/plain", '{"delta": 1}', {})),
      as(404, "item_not_found", post("an unknown item", { delta: 1 }, "nope")),
      as(404, "item_not_found", post("an unknown item, removing", { delta: -1 }, "nope")),
      as(404, "item_not_found", post("an unknown sale_id, adding", { delta: 1, sale_id: "987654" })),
      as(404, "item_not_found", post("an unknown sale_id, removing", { delta: -1, sale_id: "987654" })),
      as(409, "insufficient_stock", post("removing more than is available", { delta: -6 })),
    ]),
  )("%s", async (_, c) => {
    await refused(c);
  });
});

describe("unknown routes and wrong methods", () => {
  const notFound = (method: string, path: string, admin = false) =>
    as(404, "not_found", bad(`${method} ${path}`, { method, path, admin }));
  it.each(
    named([
      // "/" is the storefront page (test/storefront.test.ts); a file beside it that is not there is not.
      notFound("GET", "/storefront/nope.js"),
      notFound("GET", "/nope"),
      notFound("POST", "/nope"),
      notFound("GET", "/tickets"),
      notFound("GET", "/items"),
      notFound("GET", "/items/A1/extra"),
      notFound("GET", "/sales/{sale}/items/A1"),
      notFound("POST", "/checkout/extra"),
      notFound("GET", "/admin/nope", true),
    ]),
  )("%s", async (_, c) => {
    await refused(c);
  });

  const wrongMethod = (method: string, path: string, allow: string, admin = false) => ({
    ...as(405, "method_not_allowed", bad(`${method} ${path}`, { method, path, admin })),
    allow,
  });
  it.each(
    named([
      wrongMethod("GET", "/checkout", "POST"),
      wrongMethod("PUT", "/checkout", "POST"),
      wrongMethod("DELETE", "/checkout", "POST"),
      wrongMethod("GET", "/purchase", "POST"),
      wrongMethod("POST", "/tickets/{sale}-1", "GET"),
      wrongMethod("DELETE", "/items/A1", "GET"),
      wrongMethod("POST", "/sales/current", "GET"),
      wrongMethod("PUT", "/sales/{sale}/items", "GET"),
      wrongMethod("DELETE", "/users/u1/purchases", "GET"),
      wrongMethod("POST", "/health", "GET"),
      wrongMethod("POST", "/stats", "GET"),
      wrongMethod("GET", "/admin/sales", "POST", true),
      wrongMethod("PATCH", "/admin/payments", "PUT", true),
      wrongMethod("GET", "/admin/items/A1/stock", "POST", true),
    ]),
  )("%s", async (_, c) => {
    const res = await refused(c);
    expect(res.headers.get("allow")?.split(", ")).toContain(c.allow);
  });

  it("a request that is not HTTP → 400 invalid_request", async () => {
    const socket = connect(Number(new URL(env.url).port), "127.0.0.1");
    socket.write("HELLO /checkout?user_id=u1&id=A1 HTTP/1.1\r\n\r\n");
    let raw = "";
    for await (const chunk of socket) raw += String(chunk);
    const [head = "", body = ""] = raw.split("\r\n\r\n");
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(body)).toEqual({
      error: { code: "invalid_request", message: expect.stringMatching(/\S/) },
    });
  });
});

type Snapshot = Awaited<ReturnType<typeof snapshot>>;

/** What a bad request must not change, in PostgreSQL, Redis and the queue. */
async function snapshot() {
  const { redis, keys, db } = env.deps;
  const sql = db.client;
  // Attempts are recorded in the background; flush them before counting.
  await env.api.ctx.attempts.drain();
  const [counts] = await sql`
    select (select count(*) from sales)::int as sales,
           (select count(*) from purchases)::int as purchases,
           (select count(*) from sale_users)::int as sale_users,
           (select count(*) from checkout_attempts where outcome = 'accepted')::int as accepted`;
  const items = await sql`select sale_id::text, item_id, stock, sold from items order by sale_id, item_id`;
  const payments = await env.json("/admin/payments", { admin: true });
  return {
    counts,
    items: [...items],
    sale: await redis.hgetall(keys.sale(saleId)),
    tseq: await redis.hget(keys.sale(saleId), "tseq"),
    stock: {
      A1: await redis.hgetall(keys.item(saleId, "A1")),
      B2: await redis.hgetall(keys.item(saleId, "B2")),
    },
    tickets: await redis.keys(`${keys.ticketPrefix(saleId)}*`),
    idempotency: await redis.keys(`${keys.sale(saleId)}:k:*`),
    jobs: await env.api.ctx.queue.getJobCounts("waiting", "active", "delayed", "completed", "failed"),
    payments: payments.body,
  };
}

describe("after every bad request", () => {
  it("nothing was written: no sale, purchase, ticket, accepted attempt, stock or settings change", async () => {
    const after = await snapshot();
    expect(after).toEqual(before);
    expect(after.counts).toEqual({ sales: 1, purchases: 0, sale_users: 0, accepted: 0 });
    expect(after.tickets).toEqual([]);
    expect(after.stock.A1).toMatchObject({ tot: "5", av: "5" });
  });
});
