import type { RouteConfig } from "@hono/zod-openapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { ADMIN_AUTH, SHOPPER_AUTH } from "../api/openapi.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";

// The API document against the app itself: every route the app serves is in it,
// and real answers, good and bad, match the schemas it declares for their status.

interface Operation {
  tags?: string[];
  security?: Record<string, string[]>[];
  responses: Record<string, { content?: Record<string, { schema?: ErrorSchema }> }>;
}
/** Just enough of an error body's JSON schema to read the codes it allows. */
interface ErrorSchema {
  properties?: { error?: { properties?: { code?: { enum?: string[] } } } };
}
interface Document {
  openapi: string;
  info: { title: string; version: string };
  servers: { url: string }[];
  tags: { name: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: {
    securitySchemes: Record<
      string,
      { type: string; scheme: string; bearerFormat?: string; description?: string }
    >;
  };
}

// Routes the document does not list, on purpose: bull-board's own pages, assets
// and JSON API (the dashboard, GET /admin/queues, is listed), and the live sale
// page's HTML and files.
const UNDOCUMENTED = [/^\/admin\/queues\/./, /^\/admin\/?$/, /^\/admin\/assets\//];

// The shopper operations that honour a bearer token when identity is configured
// (api/identity.ts: shopperOf/visibleTo), so may answer 401 unauthorized.
const IDENTITY_AWARE = [
  "POST /checkout",
  "POST /purchase",
  "GET /tickets/{ticket_id}",
  "GET /tickets/{ticket_id}/events",
  "GET /users/{user_id}/purchases",
  "DELETE /tickets/{ticket_id}",
  "GET /users/{user_id}/tickets",
];

let env: TestEnv;
let doc: Document;
/** "GET /tickets/{ticket_id}" → the route as registered, with the zod schemas it validates with. */
const registered = new Map<string, RouteConfig>();
/** Operations a request below has exercised, to check that every one was. */
const exercised = new Set<string>();

beforeAll(async () => {
  env = await createTestEnv();
  doc = (await env.json<Document>("/openapi.json")).body;
  for (const def of env.api.app.openAPIRegistry.definitions) {
    if (def.type === "route")
      registered.set(`${def.route.method.toUpperCase()} ${def.route.path}`, def.route);
  }
});
afterAll(async () => {
  await env?.close();
});

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, path, op })),
  );

/**
 * Sends a request and checks its answer against the operation `op`
 * ("GET /sales/{sale_id}"): the status is one the document declares, and a JSON
 * body passes the zod schema registered for that status (strict: no field the
 * document does not name).
 */
async function check(
  op: string,
  path: string,
  init: Parameters<TestEnv["request"]>[1] = {},
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const [method = "", template = ""] = op.split(" ");
  const res = await env.request(path, { method, ...init });
  const text = await res.text();
  const declared = doc.paths[template]?.[method.toLowerCase()]?.responses;
  expect(declared, `${op} is in the document`).toBeDefined();
  expect(Object.keys(declared ?? {}), `${op} declares ${res.status}: ${text.slice(0, 200)}`).toContain(
    String(res.status),
  );
  const declaredHere = registered.get(op)?.responses[res.status];
  const response = declaredHere && "content" in declaredHere ? declaredHere : undefined;
  const type = res.headers.get("content-type")?.split(";")[0] ?? "";
  const types = Object.keys(response?.content ?? {}).map((t) => t.split(";")[0]);
  if (types.length) expect(types, `${op} ${res.status} declares its media type`).toContain(type);
  const media = response?.content?.[type];
  let body: unknown = text;
  if (type === "application/json") {
    body = JSON.parse(text);
    const schema = (media as { schema: z.ZodType } | undefined)?.schema;
    expect(schema, `${op} ${res.status} has a JSON schema`).toBeDefined();
    const parsed = (schema as z.ZodType).safeParse(body);
    expect(parsed.success, `${op} ${res.status}: ${JSON.stringify(parsed.error?.issues)} in ${text}`).toBe(
      true,
    );
  }
  exercised.add(op);
  return { status: res.status, body, headers: res.headers };
}

describe("the document", () => {
  it("is OpenAPI 3.1 with a title, a version, a relative server and defined tags", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.stringMatching(/^\d/) });
    expect(doc.servers).toEqual([{ url: "/" }]);
    const tags = new Set(doc.tags.map((t) => t.name));
    for (const { key, op } of operations()) {
      expect(op.tags?.length, `${key} has a tag`).toBeGreaterThan(0);
      for (const t of op.tags ?? []) expect(tags, `${key}'s tag ${t}`).toContain(t);
    }
  });

  it("puts every /admin operation behind HTTP Basic auth, the identity-aware shopper ones behind an optional bearer token, and no other", () => {
    const schemes = doc.components.securitySchemes;
    expect(schemes[ADMIN_AUTH]).toEqual({ type: "http", scheme: "basic" });
    expect(schemes[SHOPPER_AUTH]).toMatchObject({ type: "http", scheme: "bearer", bearerFormat: "JWT" });
    expect(schemes[SHOPPER_AUTH]?.description).toMatch(/required only when.*AUTH_JWT_/i);
    for (const { key, path, op } of operations()) {
      if (path.startsWith("/admin")) {
        expect(op.security, key).toEqual([{ [ADMIN_AUTH]: [] }]);
        expect(Object.keys(op.responses), key).toContain("401");
      } else if (IDENTITY_AWARE.includes(key)) {
        // Optional: the empty requirement is "or none", as identity is off unless configured.
        expect(op.security, key).toEqual([{}, { [SHOPPER_AUTH]: [] }]);
      } else expect(op.security, key).toBeUndefined();
    }
  });

  it("declares the bearer token on every shopper operation that answers 401 unauthorized, and only there", () => {
    const answersUnauthorized = (op: Operation) =>
      Object.values(op.responses["401"]?.content ?? {}).some((m) =>
        m.schema?.properties?.error?.properties?.code?.enum?.includes("unauthorized"),
      );
    const shopperOps = operations().filter(({ path }) => !path.startsWith("/admin"));
    const bearer = shopperOps.filter(({ op }) => op.security?.some((r) => SHOPPER_AUTH in r));
    const unauthorized = shopperOps.filter(({ op }) => answersUnauthorized(op));
    expect(unauthorized.map((o) => o.key).sort()).toEqual([...IDENTITY_AWARE].sort());
    expect(bearer.map((o) => o.key).sort()).toEqual(unauthorized.map((o) => o.key).sort());
  });

  it("lists every route the app serves, and serves every operation it lists", () => {
    const routes = new Set<string>();
    for (const r of env.api.app.routes) {
      if (r.method === "ALL" || UNDOCUMENTED.some((re) => re.test(r.path))) continue;
      routes.add(`${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
    }
    const documented = new Set(operations().map((o) => o.key));
    expect(
      [...routes].filter((r) => !documented.has(r)),
      "routes missing from the document",
    ).toEqual([]);
    expect(
      [...documented].filter((o) => !routes.has(o)),
      "operations the app does not serve",
    ).toEqual([]);
    // The exceptions match something, so a renamed route cannot hide behind them.
    for (const re of UNDOCUMENTED)
      expect(
        env.api.app.routes.some((r) => re.test(r.path)),
        String(re),
      ).toBe(true);
  });
});

describe("answers match the document", () => {
  const admin = { admin: true } as const;
  let saleId: string;
  let ticketId: string;

  it("for a sale's whole life: create, check out, poll, browse, buy", async () => {
    const sale = await check("POST /admin/sales", "/admin/sales", {
      ...admin,
      json: {
        items: [
          { item_id: "A1", stock: 3, name: "A one" },
          { item_id: "B2", stock: 1 },
        ],
        user_limit: 1,
      },
    });
    expect(sale.status).toBe(201);
    saleId = (sale.body as { sale_id: string }).sale_id;

    const byQuery = await check("POST /checkout", "/checkout?user_id=u1&id=B2", {});
    expect(byQuery.status).toBe(202);
    ticketId = (byQuery.body as { ticket_id: string }).ticket_id;
    const byBody = { json: { user_id: 7, item_id: "A1" }, headers: { "idempotency-key": "k-1" } };
    expect((await check("POST /checkout", "/checkout", byBody)).status).toBe(202);
    expect((await check("POST /checkout", "/checkout", byBody)).status).toBe(202); // replayed

    let ticket = await check("GET /tickets/{ticket_id}", `/tickets/${ticketId}?wait=5000`);
    while ((ticket.body as { status: string }).status !== "purchased") {
      expect(["queued", "reserved", "paying"]).toContain((ticket.body as { status: string }).status);
      ticket = await check("GET /tickets/{ticket_id}", `/tickets/${ticketId}?wait=5000`);
    }

    const stream = await check("GET /tickets/{ticket_id}/events", `/tickets/${ticketId}/events`);
    expect(stream.body).toMatch(/^event: purchased\n/); // final already: one event, then the stream closes

    expect((await check("GET /sales/current", "/sales/current")).status).toBe(200);
    expect((await check("GET /sales", "/sales?status=open&limit=5")).body).toMatchObject({
      sales: [{ sale_id: saleId }],
    });
    expect((await check("GET /sales/{sale_id}", `/sales/${saleId}`)).status).toBe(200);
    const page = await check("GET /sales/{sale_id}/items", `/sales/${saleId}/items?limit=1`);
    expect(page.body).toMatchObject({ items: [{ item_id: "A1" }], next_cursor: "A1" });
    expect((await check("GET /items/{item_id}", "/items/A1")).status).toBe(200);
    const bought = await check("GET /users/{user_id}/purchases", `/users/u1/purchases?sale_id=${saleId}`);
    expect(bought.body).toMatchObject({ purchases: [{ ticket_id: ticketId, item_id: "B2" }] });
    const mine = await check("GET /users/{user_id}/tickets", `/users/u1/tickets?sale_id=${saleId}`);
    expect(mine.body).toMatchObject({ tickets: [{ ticket_id: ticketId, status: "purchased" }] });
  });

  it("for a two_step sale: checkout waits for the code, purchase pays with it", async () => {
    const sale = await check("POST /admin/sales", "/admin/sales", {
      ...admin,
      json: { items: [{ item_id: "T3", stock: 1 }], checkout_mode: "two_step", hold_s: 30, starts_in_s: 0 },
    });
    expect(sale.status).toBe(201);
    const held = await check("POST /checkout", "/checkout?user_id=t1&id=T3&wait=5000", {});
    expect(held.body).toMatchObject({ status: "reserved", code: expect.any(String) });
    const { code, ticket_id } = held.body as { code: string; ticket_id: string };
    // A second shopper waits for the held unit, then leaves the line.
    const waiting = await check("POST /checkout", "/checkout?user_id=t2&id=T3", {});
    const waitingId = (waiting.body as { ticket_id: string }).ticket_id;
    const left = await check("DELETE /tickets/{ticket_id}", `/tickets/${waitingId}`, { method: "DELETE" });
    expect(left.body).toMatchObject({ status: "rejected", reason: "cancelled" });
    const paid = await check("POST /purchase", `/purchase?code=${code}`, {});
    expect(paid.body).toMatchObject({ ticket_id, code });
    expect((await check("POST /purchase", "/purchase", { json: { code } })).status).toBe(202);
    let ticket = await check("GET /tickets/{ticket_id}", `/tickets/${ticket_id}?wait=5000`);
    while ((ticket.body as { status: string }).status !== "purchased")
      ticket = await check("GET /tickets/{ticket_id}", `/tickets/${ticket_id}?wait=5000`);
    expect(ticket.body).toMatchObject({ code, expires_at: expect.any(String) });
  });

  it("for operators and admins", async () => {
    expect((await check("GET /health", "/health")).status).toBe(200);
    expect((await check("GET /stats", "/stats")).status).toBe(200);
    expect((await check("GET /stats", `/stats?sale_id=${saleId}`)).status).toBe(200);
    expect((await check("GET /metrics", "/metrics")).body).toMatch(/flashsale_http_requests_total/);
    expect((await check("GET /admin/payments", "/admin/payments", admin)).status).toBe(200);
    const put = { method: "PUT", ...admin };
    const latency = { latency_ms: { min: 0, max: 2 }, slots: 50 };
    expect((await check("PUT /admin/payments", "/admin/payments", { ...put, json: latency })).status).toBe(
      200,
    );
    const flaky = await check("PUT /admin/payments/profile", "/admin/payments/profile", {
      ...put,
      json: { name: "flaky", duration_s: 60 },
    });
    expect(flaky.body).toMatchObject({ profile: { name: "flaky" } });
    const back = { ...put, json: { name: null } };
    expect((await check("PUT /admin/payments/profile", "/admin/payments/profile", back)).body).toMatchObject({
      profile: null,
    });
    const stock = { ...admin, json: { delta: 2 } };
    expect(
      (await check("POST /admin/items/{item_id}/stock", "/admin/items/A1/stock", stock)).body,
    ).toMatchObject({
      stock: { total: 5 },
    });
    expect((await check("GET /admin/live", "/admin/live", admin)).status).toBe(200);
    // The changes above, newest first, as the live page's panel shows them.
    expect((await check("GET /admin/actions", "/admin/actions?limit=2", admin)).body).toMatchObject({
      actions: [
        { method: "POST", path: "/admin/items/A1/stock", outcome: "ok" },
        { method: "PUT", path: "/admin/payments/profile", outcome: "ok" },
      ],
    });
    expect((await check("GET /admin/queues", "/admin/queues", admin)).status).toBe(200);
  });

  it("for errors: each status a client can provoke, with its documented code", async () => {
    const cases: [string, string, Parameters<TestEnv["request"]>[1], number][] = [
      ["POST /checkout", "/checkout?user_id=u1", {}, 400],
      ["POST /checkout", "/checkout", { body: "{", headers: { "content-type": "application/json" } }, 400],
      ["POST /checkout", "/checkout", { body: "user_id=u1", headers: { "content-type": "text/plain" } }, 415],
      ["POST /checkout", "/checkout?user_id=u1&id=nope", {}, 404],
      ["POST /checkout", "/checkout?user_id=u2&id=B2", {}, 409], // sold out
      ["POST /checkout", "/checkout?user_id=7&id=A1", {}, 429], // user_limit 1, and user 7 holds one
      ["POST /checkout", "/checkout?user_id=u1&id=A1&wait=30001", {}, 400],
      ["POST /purchase", "/purchase", {}, 400],
      ["POST /purchase", "/purchase?code=1-1.AAAAAAAAAAAAAAAAAAAAAA", {}, 404],
      ["POST /purchase", "/purchase", { json: { code: "nope" } }, 404],
      ["POST /purchase", "/purchase", { body: "code=x", headers: { "content-type": "text/plain" } }, 415],
      ["GET /tickets/{ticket_id}", "/tickets/1-999999", {}, 404],
      ["GET /tickets/{ticket_id}", "/tickets/1-1?wait=-1", {}, 400],
      ["GET /tickets/{ticket_id}/events", "/tickets/1-999999/events", {}, 404],
      ["DELETE /tickets/{ticket_id}", "/tickets/1-999999", {}, 404],
      ["DELETE /tickets/{ticket_id}", `/tickets/${ticketId}`, {}, 409], // purchased
      ["GET /users/{user_id}/tickets", "/users/u1/tickets?limit=0", {}, 400],
      ["GET /sales/{sale_id}", "/sales/987654", {}, 404],
      ["GET /sales/{sale_id}", "/sales/a%20b", {}, 400],
      ["GET /sales/{sale_id}/items", "/sales/1/items?limit=0", {}, 400],
      ["GET /sales", "/sales?limit=0", {}, 400],
      ["GET /stats", "/stats?sale_id=987654", {}, 404],
      ["GET /stats", "/stats?sale_id=01", {}, 400],
      ["GET /items/{item_id}", "/items/nope", {}, 404],
      ["GET /users/{user_id}/purchases", "/users/u1/purchases?sale_id=01", {}, 400],
      ["GET /admin/payments", "/admin/payments", {}, 401],
      ["PUT /admin/payments", "/admin/payments", { method: "PUT", admin: true, json: { slots: 0 } }, 400],
      ["PUT /admin/payments", "/admin/payments", { method: "PUT", admin: true, body: "{}" }, 415],
      ["POST /admin/sales", "/admin/sales", { admin: true, json: { items: 0 } }, 400],
      [
        "POST /admin/items/{item_id}/stock",
        "/admin/items/A1/stock",
        { admin: true, json: { delta: -99 } },
        409,
      ],
      [
        "POST /admin/items/{item_id}/stock",
        "/admin/items/nope/stock",
        { admin: true, json: { delta: 1 } },
        404,
      ],
      ["GET /docs/assets/{file}", "/docs/assets/nope.js", {}, 404],
    ];
    for (const [op, path, init, status] of cases) {
      const res = await check(op, path, { method: op.split(" ")[0], ...init });
      expect({ op, path, status: res.status }).toEqual({ op, path, status });
    }
  });
});

describe("answers with two sales sharing an item id", () => {
  it("refuse to guess the sale, with the documented code", async () => {
    const again = await check("POST /admin/sales", "/admin/sales", {
      admin: true,
      json: { items: [{ item_id: "B2", stock: 1 }] },
    });
    const other = (again.body as { sale_id: string }).sale_id;
    const cases: [string, string, Parameters<TestEnv["request"]>[1], number][] = [
      ["POST /checkout", "/checkout?user_id=u9&id=B2", {}, 409],
      ["GET /items/{item_id}", "/items/B2", {}, 409],
      [
        "POST /admin/items/{item_id}/stock",
        "/admin/items/B2/stock",
        { admin: true, json: { delta: 1 } },
        409,
      ],
      ["POST /checkout", `/checkout?user_id=u9&id=B2&sale_id=${other}`, {}, 202],
      ["GET /items/{item_id}", `/items/B2?sale_id=${other}`, {}, 200],
    ];
    for (const [op, path, init, status] of cases) {
      const res = await check(op, path, { method: op.split(" ")[0], ...init });
      expect({ op, path, status: res.status }).toEqual({ op, path, status });
      if (status === 409) expect((res.body as { error: { code: string } }).error.code).toBe("sale_ambiguous");
    }
  });
});

describe("the docs page", () => {
  it("is HTML that loads only assets from this server, and they load", async () => {
    const page = await check("GET /docs", "/docs");
    const html = page.body as string;
    expect(page.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
    const links = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(links.length).toBeGreaterThanOrEqual(3);
    for (const link of links) {
      const url = new URL(link, `${env.url}/docs`);
      expect(url.origin, link).toBe(env.url);
      const res = await check("GET /docs/assets/{file}", url.pathname);
      expect(res.status, link).toBe(200);
      const etag = res.headers.get("etag") ?? "";
      const again = await env.request(url.pathname, { headers: { "if-none-match": etag } });
      expect(again.status, `${link} revalidates`).toBe(304);
    }
    const init = (await env.request("/docs/assets/init.js").then((r) => r.text())) as string;
    expect(init).toMatch(/openapi\.json/);
    expect(init).not.toMatch(/https?:/);
    expect((await check("GET /openapi.json", "/openapi.json")).status).toBe(200);
  });
});

describe("the storefront", () => {
  it("is HTML at / whose script and style come from this server", async () => {
    const page = await check("GET /", "/");
    expect(page.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
    const links = [...(page.body as string).matchAll(/(?:src|href)="(\/[^"]*)"/g)].map((m) => m[1] as string);
    expect(links).toEqual(expect.arrayContaining(["/storefront/style.css", "/storefront/app.js"]));
    for (const link of links.filter((l) => l.startsWith("/storefront/")))
      expect((await check("GET /storefront/{file}", link)).status, link).toBe(200);
    expect((await check("GET /storefront/{file}", "/storefront/nope.js")).status).toBe(404);
  });
});

describe("coverage", () => {
  it("every documented operation was exercised above", () => {
    expect(
      operations()
        .map((o) => o.key)
        .filter((k) => !exercised.has(k)),
    ).toEqual([]);
  });
});
