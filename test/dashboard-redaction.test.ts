import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTicketId, refOf, ticketId } from "../shared/keys.js";
import { BATCH_JOB, CHECKOUT_QUEUE, TICKET_JOB } from "../shared/queues.js";
import { batchJobId } from "../shared/ticket/enqueue.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";

// The operators' queue dashboard (/admin/queues) shows job data; a ticket's id is its
// shopper's secret (issue 13), so the dashboard shows each ticket by its ref
// `<sale>-<seq>` instead, in a ticket job and in every ticket of a batch.

let env: TestEnv;
beforeAll(async () => {
  // No worker: the jobs stay queued for the dashboard to show.
  env = await createTestEnv({ workers: 0 });
});
afterAll(async () => {
  await env?.close();
});

interface BoardJob {
  id: string;
  name: string;
  data: Record<string, unknown>;
}
interface Board {
  queues: { name: string; jobs: BoardJob[] }[];
}

const API = "/admin/queues/api/queues";

describe("the queue dashboard", () => {
  it("shows a ticket job's and a batch's tickets by their refs, never their ids", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "D1", stock: 5 }] });
    const res = await env.json<{ ticket_id: string }>("/checkout?user_id=d1&id=D1", { method: "POST" });
    expect(res.status).toBe(202);
    const alone = res.body.ticket_id;
    // Two tickets pushed in one turn travel as one batch job; ids of the sale's shape, as
    // admit.lua makes them, at places no checkout took.
    const batched = [900, 901].map((seq) => ticketId(saleId, seq, randomBytes(12).toString("base64url")));
    await Promise.all(
      batched.map((id, i) =>
        env.api.ctx.enqueuer.enqueue({ ticketId: id, saleId, itemId: "D1", userId: `b${i}` }),
      ),
    );
    const ids = [alone, ...batched];
    const secrets = ids.map((id) => parseTicketId(id)?.key ?? "");
    expect(secrets.every((k) => k.length === 16)).toBe(true);

    // The list the dashboard's queue page reads, and each job's own page.
    const list = await env.request(`${API}?activeQueue=${CHECKOUT_QUEUE}&status=latest&jobsPerPage=50`, {
      admin: true,
    });
    expect(list.status).toBe(200);
    const listText = await list.text();
    const board = JSON.parse(listText) as Board;
    const jobs = board.queues.find((q) => q.name === CHECKOUT_QUEUE)?.jobs ?? [];
    const byId = new Map(jobs.map((j) => [j.id, j]));

    expect(byId.get(refOf(alone))).toMatchObject({
      name: TICKET_JOB,
      data: { ticketId: refOf(alone), saleId, itemId: "D1", userId: "d1" },
    });
    const batchId = batchJobId(refOf(batched[0] as string));
    expect(byId.get(batchId)).toMatchObject({
      name: BATCH_JOB,
      data: {
        saleId,
        tickets: batched.map((id, i) => ({ ticketId: refOf(id), itemId: "D1", userId: `b${i}` })),
      },
    });

    const pages: [string, string[]][] = [[listText, ids]];
    for (const [id, shown] of [
      [refOf(alone), [alone]],
      [batchId, batched],
    ] as const) {
      const page = await env.request(`${API}/${CHECKOUT_QUEUE}/${encodeURIComponent(id)}`, { admin: true });
      expect(page.status).toBe(200);
      pages.push([await page.text(), [...shown]]);
    }
    for (const [text, shown] of pages) {
      for (const id of shown) expect(text).toContain(`"ticketId":"${refOf(id)}"`);
      for (const secret of secrets) expect(text).not.toContain(secret);
    }

    // Redis still holds the full ids: only the dashboard's view of them changed.
    const stored = await env.api.ctx.queue.getJob(refOf(alone));
    expect(stored?.data).toMatchObject({ ticketId: alone });
  });
});
