import type { ShopItem } from "./choice.js";
import type { HttpAnswer, HttpClient } from "./http.js";
import type { SaleView } from "./invariants.js";
import type { SaleSetup } from "./options.js";

// The calls the generator makes besides shopping: setting up the sale and the
// payment simulator, reading the catalogue, and reading back what was sold.

async function expect(what: string, res: Promise<HttpAnswer>, status: number): Promise<unknown> {
  const r = await res;
  if (r.status !== status) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export async function createSale(http: HttpClient, s: SaleSetup): Promise<SaleView> {
  const body = {
    items: s.items,
    stock_per_item: s.stockPerItem,
    user_limit: s.userLimit,
    duration_s: s.durationS,
    // Left out unless asked for: the system's CHECKOUT_MODE and HOLD_S decide.
    ...(s.checkoutMode ? { checkout_mode: s.checkoutMode } : {}),
    ...(s.holdS !== undefined ? { hold_s: s.holdS } : {}),
  };
  return (await expect(
    "POST /admin/sales",
    http.send("POST", "/admin/sales", { body, admin: true }),
    201,
  )) as SaleView;
}

export async function setPayments(http: HttpClient, body: Record<string, unknown>): Promise<unknown> {
  return expect("PUT /admin/payments", http.send("PUT", "/admin/payments", { body, admin: true }), 200);
}

export async function getPayments(http: HttpClient): Promise<Record<string, unknown>> {
  return (await expect(
    "GET /admin/payments",
    http.send("GET", "/admin/payments", { admin: true }),
    200,
  )) as Record<string, unknown>;
}

export async function getSale(http: HttpClient, saleId: string): Promise<SaleView> {
  return (await expect(`GET /sales/${saleId}`, http.send("GET", `/sales/${saleId}`), 200)) as SaleView;
}

export async function currentSale(http: HttpClient): Promise<SaleView> {
  return (await expect("GET /sales/current", http.send("GET", "/sales/current"), 200)) as SaleView;
}

interface ItemsPage {
  items: { item_id: string; stock: { available: number } }[];
  next_cursor: string | null;
}

/** Every item of the sale with its available stock, in sale order; at most `max` items. */
export async function listItems(
  http: HttpClient,
  saleId: string,
  max = Number.POSITIVE_INFINITY,
): Promise<ShopItem[]> {
  const out: ShopItem[] = [];
  let cursor: string | null = null;
  do {
    const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const page = (await expect(
      "GET items",
      http.send("GET", `/sales/${saleId}/items?limit=1000${q}`),
      200,
    )) as ItemsPage;
    for (const it of page.items) out.push({ id: it.item_id, stock: it.stock.available });
    cursor = page.next_cursor;
  } while (cursor && out.length < max);
  return out.slice(0, max);
}

/** Ticket ids of a user's purchases in the sale. */
export async function userPurchases(http: HttpClient, userId: string, saleId: string): Promise<string[]> {
  const path = `/users/${encodeURIComponent(userId)}/purchases?sale_id=${saleId}`;
  const body = (await expect(`GET ${path}`, http.send("GET", path, { user: userId }), 200)) as {
    purchases: { ticket_id: string }[];
  };
  return body.purchases.map((p) => p.ticket_id);
}

/** A ticket's status once it is final, or its last status when `waitMs` ran out; read as its user. */
export async function ticketStatus(
  http: HttpClient,
  ticket: { ticketId: string; userId: string },
  waitMs: number,
): Promise<string | null> {
  const { ticketId, userId } = ticket;
  const deadline = Date.now() + waitMs;
  let last: string | null = null;
  do {
    const wait = Math.max(1, Math.min(5000, deadline - Date.now()));
    const r = await http.send("GET", `/tickets/${ticketId}?wait=${wait}`, { user: userId });
    last = r.status === 200 ? ((r.body as { status?: string }).status ?? null) : null;
    if (last === "purchased" || last === "rejected" || last === "failed") return last;
  } while (Date.now() < deadline);
  return last;
}

/** Waits until no unit of the sale is reserved (payments in flight have ended), at most `waitMs`. */
export async function saleAtRest(http: HttpClient, saleId: string, waitMs: number): Promise<SaleView> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const sale = await getSale(http, saleId);
    if (sale.stock.reserved === 0 || Date.now() >= deadline) return sale;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function eachLimited<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  });
  await Promise.all(lanes);
}
