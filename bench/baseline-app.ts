import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";

// The baseline: a bare Hono app on @hono/node-server answering the same JSON as
// the flash-sale API for the calls the load generator makes, from plain maps in
// memory: no Redis, no queue, no PostgreSQL, no middleware. Measured by the same
// generator, it is the ceiling this machine puts on HTTP + JSON, so the
// system's figures can be read as a share of it. Tickets are final at once, so
// a checkout with `?wait=MS` answers at once with the final ticket, as the
// system's does once its ticket is final.

interface Sale {
  id: string;
  userLimit: number;
  startsAt: string;
  endsAt: string;
  items: Map<string, { total: number; sold: number }>;
  held: Map<string, string[]>;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
// The API's bound on checkout's `?wait=` (api/schemas/tickets.ts).
const MAX_WAIT_MS = 30_000;
const err = (code: string, message: string) => ({ error: { code, message } });

export function baselineApp() {
  const sales = new Map<string, Sale>();
  const tickets = new Map<string, { user: string; item: string; sale: string; at: string }>();
  let seq = 0;

  const stockOf = (s: Sale) => {
    let total = 0;
    let sold = 0;
    for (const it of s.items.values()) {
      total += it.total;
      sold += it.sold;
    }
    return { total, available: total - sold, reserved: 0, sold };
  };
  const view = (s: Sale) => ({
    sale_id: s.id,
    starts_at: s.startsAt,
    ends_at: s.endsAt,
    status: "open",
    user_limit: s.userLimit,
    item_count: s.items.size,
    stock: stockOf(s),
  });
  const saleOfItem = (item: string) => {
    for (const s of [...sales.values()].reverse()) if (s.items.has(item)) return s;
    return null;
  };
  const ticketView = (id: string) => {
    const t = tickets.get(id);
    return t
      ? {
          ticket_id: id,
          status: "purchased",
          reason: null,
          user_id: t.user,
          item_id: t.item,
          sale_id: t.sale,
          position: null,
          purchase_id: id.split("-")[1],
          created_at: t.at,
          updated_at: t.at,
        }
      : null;
  };

  return new Hono()
    .post("/admin/sales", async (c) => {
      const body = (await c.req.json()) as {
        items: number;
        stock_per_item?: number;
        user_limit?: number;
        duration_s?: number;
      };
      const id = String(sales.size + 1);
      const now = Date.now();
      const items = new Map<string, { total: number; sold: number }>();
      for (let i = 1; i <= body.items; i++)
        items.set(String(i), { total: body.stock_per_item ?? 1, sold: 0 });
      const sale: Sale = {
        id,
        userLimit: body.user_limit ?? 10,
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + (body.duration_s ?? 3600) * 1000).toISOString(),
        items,
        held: new Map(),
      };
      sales.set(id, sale);
      return c.json(view(sale), 201);
    })
    .put("/admin/payments", async (c) => c.json(await c.req.json()))
    .get("/sales/:id", (c) => {
      const s = sales.get(c.req.param("id"));
      return s ? c.json(view(s)) : c.json(err("sale_not_found", "no sale"), 404);
    })
    .get("/sales/:id/items", (c) => {
      const s = sales.get(c.req.param("id"));
      if (!s) return c.json(err("sale_not_found", "no sale"), 404);
      const limit = Number(c.req.query("limit") ?? 100);
      const cursor = c.req.query("cursor");
      const ids = [...s.items.keys()].sort();
      const from = cursor ? ids.findIndex((i) => i > cursor) : 0;
      const page = from < 0 ? [] : ids.slice(from, from + limit);
      return c.json({
        items: page.map((i) => {
          const it = s.items.get(i) as { total: number; sold: number };
          const stock = { total: it.total, available: it.total - it.sold, reserved: 0, sold: it.sold };
          return { item_id: i, name: i, image_url: "", stock };
        }),
        next_cursor: from >= 0 && from + limit < ids.length ? (page[page.length - 1] ?? null) : null,
      });
    })
    .post("/checkout", (c) => {
      const user = c.req.query("user_id") ?? "";
      const item = c.req.query("id") ?? "";
      if (!ID.test(user) || !ID.test(item)) return c.json(err("invalid_request", "bad ids"), 400);
      const rawWait = c.req.query("wait");
      const wait = rawWait === undefined ? 0 : Number(rawWait);
      if (!Number.isInteger(wait) || wait < 0 || wait > MAX_WAIT_MS)
        return c.json(err("invalid_request", `wait: an integer from 0 to ${MAX_WAIT_MS}`), 400);
      const s = saleOfItem(item);
      const it = s?.items.get(item);
      if (!s || !it) return c.json(err("item_not_found", "no such item"), 404);
      if (it.sold >= it.total) return c.json(err("sold_out", "this item is sold out"), 409);
      const mine = s.held.get(user) ?? [];
      if (mine.length >= s.userLimit) {
        c.header("Retry-After", "60");
        return c.json(err("user_limit_reached", "you have reached the limit of units for this sale"), 429);
      }
      it.sold++;
      const id = `${s.id}-${++seq}`;
      mine.push(id);
      s.held.set(user, mine);
      tickets.set(id, { user, item, sale: s.id, at: new Date().toISOString() });
      const url = `/tickets/${id}`;
      c.header("Location", url);
      // As the system answers a ticket that is final by the end of the wait: out of the line, nothing to poll.
      if (wait > 0)
        return c.json(
          { ticket_id: id, status: "purchased", position: null, poll_url: url, poll_after_ms: 0 },
          202,
        );
      return c.json({ ticket_id: id, status: "queued", position: 1, poll_url: url, poll_after_ms: 100 }, 202);
    })
    .get("/tickets/:id", (c) => {
      const t = ticketView(c.req.param("id"));
      return t ? c.json(t) : c.json(err("ticket_not_found", "no ticket"), 404);
    })
    .get("/users/:id/purchases", (c) => {
      const s = sales.get(c.req.query("sale_id") ?? "");
      const mine = s?.held.get(c.req.param("id")) ?? [];
      const purchases = mine.flatMap((id) => {
        const t = tickets.get(id);
        if (!t) return [];
        return [
          {
            purchase_id: id.split("-")[1],
            ticket_id: id,
            item_id: t.item,
            sale_id: t.sale,
            created_at: t.at,
          },
        ];
      });
      return c.json({ purchases });
    })
    .get("/health", (c) => c.json({ status: "ok" }));
}

/** Serves the baseline on `port` with the API's keep-alive settings. */
export function serveBaseline(port: number): Promise<{ port: number; close(): Promise<void> }> {
  return new Promise((resolve) => {
    const s = serve({ fetch: baselineApp().fetch, port, hostname: "127.0.0.1" }, () => {
      const http = s as unknown as Server;
      http.keepAliveTimeout = 65_000;
      http.headersTimeout = 66_000;
      resolve({
        port: (http.address() as AddressInfo).port,
        close: () => new Promise<void>((r) => http.close(() => r())),
      });
    });
  });
}

// Run as its own process by the bench (`bench/baseline-main.ts` would be one more file for two lines).
if (process.argv[1]?.endsWith("baseline-app.ts")) {
  const served = await serveBaseline(Number(process.env.PORT ?? 0));
  process.stdout.write(`baseline listening on ${served.port}\n`);
  // Nothing to flush: stop at once rather than wait for the crowd's keep-alive sockets.
  process.on("SIGTERM", () => process.exit(0));
}
