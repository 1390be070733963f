import {
  enc,
  type FuzzCtx,
  type FuzzRequest,
  JSON_HEADERS,
  type RawRequest,
  segment,
} from "./fuzz-common.js";
import { randomUnicode } from "./fuzz-values.js";
import type { Rng } from "./prng.js";

// Abuse of HTTP itself: methods a route does not take, paths no route has, bytes no client sends.

// Each route and a method it does not take (HEAD and OPTIONS aside: HEAD of a GET is a GET).
const WRONG_METHODS: [string, string[]][] = [
  ["/checkout", ["GET", "PUT", "DELETE", "PATCH"]],
  ["/purchase", ["GET", "PUT", "DELETE", "PATCH"]],
  ["/tickets/1-1", ["POST", "PUT", "PATCH"]],
  ["/sales/current", ["POST", "PUT", "DELETE", "PATCH"]],
  ["/sales/1/items", ["POST", "PUT", "DELETE"]],
  ["/items/A1", ["POST", "PUT", "DELETE", "PATCH"]],
  ["/users/u1/purchases", ["POST", "DELETE"]],
  ["/users/u1/tickets", ["POST", "DELETE"]],
  ["/health", ["POST", "PUT", "DELETE"]],
  ["/stats", ["POST", "DELETE"]],
  ["/metrics", ["POST", "PUT"]],
  ["/openapi.json", ["POST", "DELETE"]],
];

export function wrongMethod(r: Rng, ctx: FuzzCtx): FuzzRequest {
  if (r.chance(0.3)) {
    const [method, path] = r.pick([
      ["GET", "/admin/sales"],
      ["DELETE", "/admin/payments"],
      ["PATCH", "/admin/payments"],
      ["GET", "/admin/items/A1/stock"],
      ["POST", "/admin/payments/profile"],
    ] as const);
    return { family: "wrong method", method, path, headers: { authorization: ctx.adminAuth } };
  }
  const [path, methods] = r.pick(WRONG_METHODS);
  const method = r.pick(methods);
  const body = method === "GET" || method === "DELETE" ? undefined : '{"user_id":"u1","item_id":"A1"}';
  return { family: "wrong method", method, path, headers: { ...JSON_HEADERS }, ...(body ? { body } : {}) };
}

export function oddPath(r: Rng): FuzzRequest {
  const path = r.pick([
    // "/" is the storefront now: its odd paths are tries at the files beside it.
    () => "/storefront/..%2Fstorefront.ts",
    () => `/storefront/${segment(r)}`,
    () => `/${enc(randomUnicode(r, 20))}`,
    () => `/${segment(r)}/${segment(r)}`,
    () => "/checkout/",
    () => "//checkout",
    () => "/checkout/extra",
    () => "/CHECKOUT",
    () => "/tickets",
    () => "/tickets/",
    () => "/items",
    () => "/items/A1/extra",
    () => "/sales/1/items/A1",
    () => "/users/u1",
    () => "/users//purchases",
    () => "/%2e%2e/%2e%2e/etc/passwd",
    () => "/checkout%00",
    () => "/.env",
    () => "/docs/assets/..%2F..%2Fpackage.json",
    () => `/docs/assets/${segment(r)}`,
    () => `/${"a/".repeat(200)}`,
    () => `/zz${"z".repeat(r.int(8000))}`,
  ])();
  const method = r.pick(["GET", "POST", "PUT", "DELETE"]);
  return { family: "odd path", method, path, headers: {} };
}

/** Requests no HTTP client sends: broken syntax, forbidden bytes, 16 KB+ headers, lying lengths. */
export function rawHttp(r: Rng): RawRequest {
  const raw = r.pick([
    () => "HELLO /checkout HTTP/1.1\r\nHost: x\r\n\r\n",
    () => "GET /health HTTP/9.9\r\nHost: x\r\n\r\n",
    () => "GET  HTTP/1.1\r\nHost: x\r\n\r\n",
    () => "POST /checkout HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    () => "POST /checkout HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    () =>
      "POST /checkout HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    () => "POST /checkout HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    () => `GET /sales/current HTTP/1.1\r\nHost: x\r\nX-Pad: ${"h".repeat(16_500 + r.int(10_000))}\r\n\r\n`,
    () => `GET /items/${"z".repeat(17_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    () => "GET /health HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n",
    () => "GET /health HTTP/1.1\r\nHost: x\r\nX-Nul: a\u0000b\r\n\r\n",
    () => "GET /health\u0000 HTTP/1.1\r\nHost: x\r\n\r\n",
    () => `GET /items/${randomUnicode(r, 5).replace(/[\r\n ]/g, "x")} HTTP/1.1\r\nHost: x\r\n\r\n`,
    () => "GET /nope HTTP/1.1\nHost: x\nConnection: close\n\n",
    () => "GET /nope HTTP/1.1\r\n\r\n",
    () => "POST /checkout?user_id=u1&id=A1 HTTP/1.1\r\n\r\n",
    () => "GET /health HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
    () => "GET http://evil.example/checkout HTTP/1.1\r\nHost: x\r\n\r\n",
    () => "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
    () =>
      "POST /checkout?user_id=u1&id=zz1 HTTP/1.1\r\nHost: x\r\nIdempotency-Key: ключ\r\nConnection: close\r\n\r\n",
    () =>
      'POST /checkout HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 37\r\n\r\n{"user_id":"ü","item_id":"A1"}\u0000\u0000\u0000\u0000\u0000\u0000',
  ])();
  return { family: "raw http", raw };
}
