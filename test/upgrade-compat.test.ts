import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTicketId } from "../shared/keys.js";
import type { TicketView } from "../shared/ticket/view.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";

// A ticket's reason was kept in the field `rs` until it was renamed `why` (which `rs`
// means in an item hash: reserved). A deploy meets tickets written before the rename,
// and, while old and new processes run side by side, tickets still written by the old
// ones; they live 24 h. They must read as before: their reason shown, a cancelled one
// cancelled again answered as a repeat.

type Answer = Pick<TicketView, "ticket_id" | "status" | "reason"> & { error?: { code: string } };

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ workers: 1 });
});
afterAll(async () => {
  await env?.close();
});

/** Rewrites a ticket's hash as a release before the rename wrote it. */
async function writtenBeforeRename(ticket: string) {
  const ref = parseTicketId(ticket);
  if (!ref) throw new Error(`not a ticket id: ${ticket}`);
  const key = env.deps.keys.ticket(ref.saleId, ref.seq);
  const why = await env.deps.redis.hget(key, "why");
  expect(why).toBeTruthy();
  await env.deps.redis
    .multi()
    .hdel(key, "why")
    .hset(key, "rs", why as string)
    .exec();
}

describe("tickets written before the reason field was renamed", () => {
  it("show their reason, in the ticket and the user's list, and a repeated cancel is answered as one", async () => {
    await env.createSale({ items: [{ item_id: "line", stock: 1 }], starts_in_s: 30 });
    const queued = await env.json<Answer>("/checkout?user_id=leaver&id=line", { method: "POST" });
    expect(queued.status).toBe(202);
    const cancelled = await env.json<Answer>(`/tickets/${queued.body.ticket_id}`, { method: "DELETE" });
    expect(cancelled.body).toMatchObject({ status: "rejected", reason: "cancelled" });
    await writtenBeforeRename(queued.body.ticket_id);
    const read = await env.json<Answer>(`/tickets/${queued.body.ticket_id}`);
    expect(read.body).toMatchObject({ status: "rejected", reason: "cancelled" });
    const listed = await env.json<{ tickets: { reason: string | null }[] }>("/users/leaver/tickets");
    expect(listed.body.tickets.map((t) => t.reason)).toEqual(["cancelled"]);
    const again = await env.json<Answer>(`/tickets/${queued.body.ticket_id}`, { method: "DELETE" });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: "rejected", reason: "cancelled" });
  });
});
