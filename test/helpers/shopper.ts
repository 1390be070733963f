import { sleep } from "../../shared/time.js";
import type { HttpClient } from "../../tools/harness/env.js";

export interface Ticket {
  ticket_id: string;
  status: string;
  reason: string | null;
  purchase_id: string | null;
  updated_at: string;
  created_at: string;
}

const FINAL = new Set(["purchased", "rejected", "failed"]);

/** Polls a ticket (long-polling with ?wait) until it is final. */
export async function untilFinal(http: HttpClient, ticketId: string, timeoutMs = 60_000): Promise<Ticket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = await http.json<Ticket>(`/tickets/${ticketId}?wait=2000`);
    if (t.status !== 200) throw new Error(`ticket ${ticketId}: ${t.status}`);
    if (FINAL.has(t.body.status)) return t.body;
    if (Date.now() > deadline) throw new Error(`ticket ${ticketId} still ${t.body.status}`);
  }
}

/** Polls a ticket until it reaches `status`. */
export async function untilStatus(http: HttpClient, ticketId: string, status: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = await http.json<Ticket>(`/tickets/${ticketId}`);
    if (t.body.status === status) return t.body;
    if (FINAL.has(t.body.status) || Date.now() > deadline) {
      throw new Error(`ticket ${ticketId} is ${t.body.status}, not ${status}`);
    }
    await sleep(10);
  }
}

export type ShopperOutcome = { bought: boolean; tickets: number; refusals: Record<string, number> };

/**
 * A persistent shopper: checks out, waits for the ticket, and tries again after
 * a failed payment or a full line, until it buys or the item is sold out.
 */
export async function persistentShopper(
  http: HttpClient,
  userId: string,
  itemId: string,
): Promise<ShopperOutcome> {
  const out: ShopperOutcome = { bought: false, tickets: 0, refusals: {} };
  for (;;) {
    const res = await http.json<{ ticket_id?: string; error?: { code: string } }>(
      `/checkout?user_id=${userId}&id=${itemId}`,
      { method: "POST" },
    );
    if (res.status === 202 && res.body.ticket_id) {
      out.tickets++;
      const t = await untilFinal(http, res.body.ticket_id);
      if (t.status === "purchased") return { ...out, bought: true };
      continue;
    }
    const code = res.body.error?.code ?? String(res.status);
    out.refusals[code] = (out.refusals[code] ?? 0) + 1;
    if (code === "sold_out") return out;
    // A full line or a busy system: come back a little later, as Retry-After asks (shortened for tests).
    await sleep(100);
  }
}
