import { randomBytes, randomInt } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTicketId, ticketId } from "../shared/keys.js";
import { getTicket } from "../shared/ticket/view.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { untilFinal } from "./helpers/shopper.js";

// Ticket ids cannot be guessed (issue 13): `<sale>-<seq>-<key>`, the key 96 random bits
// kept in the ticket, so only whoever was given the id can read the ticket, its events
// and its code.

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ env: { LOG_LEVEL: "fatal", RATE_USER_PER_S: "0" } });
});
afterAll(async () => {
  await env?.close();
});

const randomKey = () => randomBytes(12).toString("base64url");

describe("ticket ids", () => {
  it("carry 96 random bits: 100,000 guesses around real ones find none", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "g", stock: 100 }] });
    const real: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await env.json<{ ticket_id: string }>(`/checkout?user_id=g${i}&id=g&wait=5000`, {
        method: "POST",
      });
      real.push(res.body.ticket_id);
    }
    const refs = real.map((id) => parseTicketId(id));
    expect(refs.every((r) => r !== null)).toBe(true);
    expect(new Set(refs.map((r) => r?.key)).size).toBe(real.length);
    // Guesses: a real ticket's place with a random key, a real key at a neighbouring place,
    // and a real key with one character changed.
    const guesses: string[] = [];
    for (let i = 0; guesses.length < 100_000; i++) {
      const r = refs[i % refs.length];
      if (!r) continue;
      const kind = i % 3;
      if (kind === 0) guesses.push(ticketId(saleId, r.seq, randomKey()));
      else if (kind === 1) guesses.push(ticketId(saleId, Number(r.seq) + randomInt(1, 30), r.key));
      else {
        const at = randomInt(16);
        const c = r.key[at] === "A" ? "B" : "A";
        guesses.push(ticketId(saleId, r.seq, r.key.slice(0, at) + c + r.key.slice(at + 1)));
      }
    }
    let found = 0;
    for (let i = 0; i < guesses.length; i += 1000) {
      const views = await Promise.all(guesses.slice(i, i + 1000).map((id) => getTicket(env.deps, id)));
      found += views.filter((v) => v !== null && !real.includes(v.ticket_id)).length;
    }
    expect(found).toBe(0);
    // Over HTTP too, for a sample: the poll, the long poll and the event stream are 404.
    for (const id of guesses.slice(0, 300)) {
      for (const path of [`/tickets/${id}`, `/tickets/${id}?wait=10`, `/tickets/${id}/events`]) {
        const res = await env.request(path);
        expect(res.status).toBe(404);
        await res.body?.cancel();
      }
    }
    // The holders of the real ids read their tickets.
    for (const id of real) expect(await untilFinal(env, id)).toMatchObject({ ticket_id: id });
    // The old form, the place alone, is no ticket id.
    const [first] = refs;
    expect((await env.request(`/tickets/${saleId}-${first?.seq}`)).status).toBe(404);
  });

  it("a two_step code is its ticket's id and a secret: a code for another key is refused", async () => {
    await env.createSale({ items: [{ item_id: "c", stock: 5 }], checkout_mode: "two_step", hold_s: 30 });
    const res = await env.json<{ ticket_id: string; code: string }>("/checkout?user_id=cc&id=c&wait=5000", {
      method: "POST",
    });
    expect(res.body.code.startsWith(`${res.body.ticket_id}.`)).toBe(true);
    const r = parseTicketId(res.body.ticket_id);
    const secret = res.body.code.slice(res.body.code.indexOf(".") + 1);
    const forged = `${ticketId(r?.saleId ?? "", r?.seq ?? "", randomKey())}.${secret}`;
    const refused = await env.json(`/purchase?code=${encodeURIComponent(forged)}`, { method: "POST" });
    expect(refused.status).toBe(404);
    // Refused before it confirmed anything: the hold is still unpaid.
    const hash = env.deps.keys.ticket(r?.saleId ?? "", r?.seq ?? "");
    expect(await env.deps.redis.hget(hash, "cf")).toBeNull();
    const paid = await env.json(`/purchase?code=${encodeURIComponent(res.body.code)}`, { method: "POST" });
    expect(paid.status).toBe(202);
  });
});
