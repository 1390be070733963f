import type { Context } from "hono";
import { tryDecodeURIComponent } from "hono/utils/url";
import { AppError } from "../shared/errors.js";
import { header } from "./node-request.js";
import { ID_RE, SALE_ID_RE } from "./schemas/common.js";
import { MAX_WAIT_MS, TICKET_STATUSES } from "./schemas/tickets.js";
import { jsonBody } from "./validation.js";

// The two hot routes' input, checked by hand: the same rules as their zod schemas
// (api/schemas/tickets.ts, which stay the API document's and the other routes'),
// without building a zod result per request. Every failure is the same 400
// invalid_request naming the field.

const ID_RULE = "must be 1-64 characters of A-Z, a-z, 0-9, _ or -";
const KEY_RE = /^[\x21-\x7e]{1,128}$/;
const STATUSES: ReadonlySet<string> = new Set(TICKET_STATUSES);

const invalid = (field: string, problem: string) => new AppError("invalid_request", `${field}: ${problem}`);

const decode = (s: string) => tryDecodeURIComponent(s.includes("+") ? s.replace(/\+/g, " ") : s);
const ENCODED = /[%+]/;

type Query<K extends string> = Partial<Record<K, string>>;

/**
 * The first value of each of `names` in the URL's query, in one pass: what
 * c.req.query(name) returns for each (it scans the URL again per name).
 */
export function queryOf<K extends string>(url: string, names: readonly K[]): Query<K> {
  const out: Query<K> = {};
  const q = url.indexOf("?", 8);
  if (q === -1) return out;
  let end = url.indexOf("#", q);
  if (end === -1) end = url.length;
  let left = names.length;
  for (let i = q + 1; i <= end && left > 0; ) {
    let amp = url.indexOf("&", i);
    if (amp === -1 || amp > end) amp = end;
    const eq = url.indexOf("=", i);
    const valued = eq !== -1 && eq < amp;
    let name = url.slice(i, valued ? eq : amp);
    if (ENCODED.test(name)) name = decode(name);
    if (names.includes(name as K) && out[name as K] === undefined) {
      const raw = valued ? url.slice(eq + 1, amp) : "";
      out[name as K] = ENCODED.test(raw) ? decode(raw) : raw;
      left--;
    }
    i = amp + 1;
  }
  return out;
}

const CHECKOUT_QUERY = ["user_id", "id", "item_id", "sale_id", "wait"] as const;
const TICKET_QUERY = ["wait", "seen"] as const;

/** An id from the query string. */
function queryId(value: string, field: string): string {
  if (!ID_RE.test(value)) throw invalid(field, ID_RULE);
  return value;
}

/** An id from a JSON body, where a whole number such as 1001 is taken as "1001". */
function bodyId(value: unknown, field: string): string {
  if (value === undefined) throw invalid(field, "is required");
  if (typeof value === "string") return queryId(value, field);
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return String(value);
  throw invalid(field, `${ID_RULE}, or a non-negative whole number`);
}

/** A sale id from the query string or a JSON body (where a whole number is taken as its decimal). */
function saleIdParam(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const s = typeof value === "number" && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof s !== "string" || !SALE_ID_RE.test(s)) throw invalid("sale_id", "must be a sale id");
  return s;
}

/** `?wait=MS`: a whole number of ms up to 30000 (as z.coerce.number() reads it: "" is 0). */
function waitParam(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_WAIT_MS)
    throw invalid("wait", `must be a whole number of ms from 0 to ${MAX_WAIT_MS}`);
  return ms;
}

export interface CheckoutInput {
  userId: string;
  itemId: string;
  /** The sale asked for; undefined: the one open sale that has the item. */
  saleId: string | undefined;
  wait: number | undefined;
  idempotencyKey: string | undefined;
}

/**
 * POST /checkout: the query form `?user_id=U&id=I` (or `item_id=I`), or a JSON body
 * `{user_id, item_id}`; either with an optional `sale_id`.
 */
/**
 * `shopper`: the user a bearer token proves (api/identity.ts); then `user_id` may be left
 * out, and if sent must be that user.
 */
export async function checkoutInput(c: Context, shopper?: string): Promise<CheckoutInput> {
  const body = await jsonBody(c);
  const query = queryOf(c.req.url, CHECKOUT_QUERY);
  let userId: string;
  let itemId: string;
  let saleId: string | undefined;
  if (body === undefined) {
    const { user_id: user, id, item_id: item } = query;
    if (user === undefined && shopper === undefined) throw invalid("user_id", "is required");
    userId = user === undefined ? (shopper as string) : queryId(user, "user_id");
    if (id === undefined && item === undefined) throw invalid("id", "is required (or item_id)");
    // Both are checked when both are sent; `id` wins.
    const checkedItem = item === undefined ? undefined : queryId(item, "item_id");
    itemId = id === undefined ? (checkedItem as string) : queryId(id, "id");
    saleId = saleIdParam(query.sale_id);
  } else {
    if (typeof body !== "object" || body === null || Array.isArray(body))
      throw invalid("body", "must be a JSON object");
    for (const key of Object.keys(body))
      if (key !== "user_id" && key !== "item_id" && key !== "sale_id")
        throw invalid("body", `unknown field "${key}"`);
    const fields = body as { user_id?: unknown; item_id?: unknown; sale_id?: unknown };
    userId =
      fields.user_id === undefined && shopper !== undefined ? shopper : bodyId(fields.user_id, "user_id");
    itemId = bodyId(fields.item_id, "item_id");
    // The body's, else the query string's (as `wait` is read there).
    saleId = saleIdParam(fields.sale_id ?? query.sale_id);
  }
  if (shopper !== undefined && userId !== shopper)
    throw invalid("user_id", "must be the user of the bearer token, or left out");
  // Always from the query string, also for a JSON-body checkout.
  const wait = waitParam(query.wait);
  const key = header(c, "idempotency-key");
  if (key !== undefined && !KEY_RE.test(key))
    throw invalid("idempotency-key", "must be 1-128 visible ASCII characters");
  return { userId, itemId, saleId, wait, idempotencyKey: key };
}

/** GET /tickets/{id}: `?wait=MS` and `?seen=STATUS`. */
export function ticketQuery(c: Context): { wait: number | undefined; seen: string | undefined } {
  const query = queryOf(c.req.url, TICKET_QUERY);
  const wait = waitParam(query.wait);
  const seen = query.seen;
  if (seen !== undefined && !STATUSES.has(seen))
    throw invalid("seen", `must be one of ${TICKET_STATUSES.join(", ")}`);
  return { wait, seen };
}
