import { enc, type FuzzCtx, type FuzzRequest, JSON_HEADERS, segment } from "./fuzz-common.js";
import {
  BAD_INT_PARAMS,
  badIdValue,
  badString,
  MALFORMED_JSON,
  randomUnicode,
  unknownId,
  WRONG_TYPES,
} from "./fuzz-values.js";
import type { Rng } from "./prng.js";

// Bad requests to the shoppers' endpoints: checkout in both forms, tickets, sales, items, purchases.

export function checkoutQuery(r: Rng): FuzzRequest {
  // Well-formed, for an item no sale has: through the rate limit and the Lua script, to a 404.
  if (r.chance(0.1))
    return {
      family: "checkout unknown item",
      method: "POST",
      path: `/checkout?user_id=u${r.int(1000)}&id=${unknownId(r)}`,
      headers: {},
    };
  // At least one of the two is bad; the item is never one the sale has.
  const userBad = r.chance(0.6);
  const user = userBad ? enc(badString(r)) : `u${r.int(1000)}`;
  const item = !userBad || r.chance(0.5) ? enc(badString(r)) : unknownId(r);
  const parts = [];
  if (r.chance(0.9)) parts.push(`user_id=${user}`);
  if (r.chance(0.9)) parts.push(`${r.pick(["id", "item_id"])}=${item}`);
  if (r.chance(0.2)) parts.push(`${enc(randomUnicode(r, 8))}=${enc(randomUnicode(r, 8))}`);
  if (r.chance(0.1)) parts.push(`user_id=${enc(badString(r))}`);
  const headers: Record<string, string> = {};
  if (r.chance(0.2))
    headers["idempotency-key"] = r.pick(["a b", "k".repeat(129), "clé", "\t", `k${r.int(1e6)}`]);
  return { family: "checkout query", method: "POST", path: `/checkout?${parts.join("&")}`, headers };
}

export function checkoutJson(r: Rng): FuzzRequest {
  const body: Record<string, unknown> = {};
  const userBad = r.chance(0.6);
  body.user_id = userBad ? badIdValue(r) : r.chance(0.5) ? `u${r.int(1000)}` : r.int(1e6);
  body.item_id = !userBad || r.chance(0.5) ? badIdValue(r) : unknownId(r);
  if (r.chance(0.15)) delete body[r.pick(["user_id", "item_id"])];
  if (r.chance(0.15)) body[r.pick(["quantity", "price", "__proto__x", "sale_id", "admin"])] = r.int(100);
  let text = JSON.stringify(body);
  if (r.chance(0.1)) text = JSON.stringify(r.pick([null, [body], "A1", 42, true, WRONG_TYPES]));
  return {
    family: "checkout json",
    method: "POST",
    path: "/checkout",
    headers: { ...JSON_HEADERS },
    body: text,
  };
}

export function checkoutBodyKind(r: Rng): FuzzRequest {
  const k = r.int(3);
  const unknown = unknownId(r);
  const good = JSON.stringify({ user_id: "u1", item_id: unknown });
  if (k === 0)
    return {
      family: "malformed json",
      method: "POST",
      path: "/checkout",
      headers: { ...JSON_HEADERS },
      body: r.pick(MALFORMED_JSON),
    };
  if (k === 1) {
    const type = r.pick([
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/xml",
      "image/png",
      "json",
      "application/jsonx",
    ]);
    return {
      family: "wrong content type",
      method: "POST",
      path: `/checkout?user_id=u1&id=${unknown}`,
      headers: { "content-type": type },
      body: r.pick([good, "user_id=u1&id=A1", "<a/>", "\u0000\u0001"]),
    };
  }
  // Over the 4 KB a checkout body may have: refused before it is parsed.
  const pad = "p".repeat(4096 + r.int(60_000));
  return {
    family: "oversized body",
    method: "POST",
    path: "/checkout",
    headers: { ...JSON_HEADERS },
    body: JSON.stringify({ user_id: "u1", item_id: "A1", pad }),
  };
}

export function tickets(r: Rng): FuzzRequest {
  const id = r.pick([
    () => segment(r),
    () => `${r.int(1e6)}-${r.int(1e6)}`,
    () => `${r.int(10)}-${"9".repeat(19)}`,
    () => `-${r.int(100)}`,
    () => `${r.int(100)}--1`,
  ])();
  // DELETE /tickets/{id}: no such ticket to cancel, whatever the id.
  if (r.chance(0.2))
    return { family: "ticket cancel", method: "DELETE", path: `/tickets/${id}`, headers: {} };
  const wait = r.chance(0.5) ? `?wait=${enc(r.pick([...BAD_INT_PARAMS, "30001", "0", "10"]))}` : "";
  const events = r.chance(0.2) ? "/events" : "";
  return {
    family: events ? "ticket events" : "tickets",
    method: "GET",
    path: `/tickets/${id}${events}${events ? "" : wait}`,
    headers: {},
  };
}

export function sales(r: Rng, ctx: FuzzCtx): FuzzRequest {
  if (r.chance(0.5)) {
    const id = r.pick([
      () => segment(r),
      () => `0${ctx.saleId}`,
      () => "9".repeat(19),
      () => String(987_654 + r.int(1e6)),
    ])();
    return {
      family: "sales",
      method: "GET",
      path: `/sales/${id}${r.chance(0.3) ? "/items" : ""}`,
      headers: {},
    };
  }
  // The sale exists: the page parameters are what is wrong.
  const limit = `limit=${enc(r.pick([...BAD_INT_PARAMS, "0", "1001", "-5"]))}`;
  const cursor = `cursor=${enc(badString(r))}`;
  const q = r.pick([limit, cursor, `${limit}&${cursor}`, `${cursor}&limit=10`]);
  return { family: "sale items", method: "GET", path: `/sales/${ctx.saleId}/items?${q}`, headers: {} };
}

export function items(r: Rng): FuzzRequest {
  return { family: "items", method: "GET", path: `/items/${segment(r)}`, headers: {} };
}

export function purchases(r: Rng): FuzzRequest {
  // A user's tickets take the same sale_id, and a limit.
  if (r.chance(0.3)) {
    const q = r.pick([
      () => `sale_id=${enc(r.pick([...BAD_INT_PARAMS, "01", badString(r)]))}`,
      () => `limit=${enc(r.pick([...BAD_INT_PARAMS, "0", "201", "-1"]))}`,
    ])();
    const user = r.chance(0.3) ? enc(badString(r)) : `u${r.int(100)}`;
    return { family: "user tickets", method: "GET", path: `/users/${user}/tickets?${q}`, headers: {} };
  }
  if (r.chance(0.5))
    return { family: "purchases", method: "GET", path: `/users/${enc(badString(r))}/purchases`, headers: {} };
  return {
    family: "purchases",
    method: "GET",
    path: `/users/u${r.int(100)}/purchases?sale_id=${enc(r.pick([...BAD_INT_PARAMS, "01", "0", badString(r)]))}`,
    headers: {},
  };
}

/** POST /purchase with a code that is no ticket's: bad strings, forged codes, wrong bodies. */
export function purchaseCodes(r: Rng, ctx: FuzzCtx): FuzzRequest {
  const forged = () =>
    `${r.pick([ctx.saleId, String(r.int(1e6))])}-${r.int(1e6)}.${r.pick(["A".repeat(22), "x", "_-".repeat(11)])}`;
  const code = r.pick([forged, () => badString(r), () => "", () => "c".repeat(150 + r.int(100))])();
  if (r.chance(0.5))
    return { family: "purchase query", method: "POST", path: `/purchase?code=${enc(code)}`, headers: {} };
  const body = r.pick([
    () => JSON.stringify({ code }),
    () => JSON.stringify({ code: r.pick(WRONG_TYPES) }),
    () => JSON.stringify({ code, user_id: "u1" }),
    () => r.pick(MALFORMED_JSON),
  ])();
  const headers = r.chance(0.9) ? { ...JSON_HEADERS } : { "content-type": "text/plain" };
  return { family: "purchase json", method: "POST", path: "/purchase", headers, body };
}
