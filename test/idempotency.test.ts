import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crowd } from "../tools/harness/crowd.js";
import { createProcessEnv, type HttpClient, httpClient } from "../tools/harness/env.js";
import { checkInvariants, readTickets, waitForRest } from "../tools/harness/invariants.js";
import { envOf, freePort, startRole } from "../tools/harness/processes.js";

// Idempotency-Key on POST /checkout, against two API processes sharing one Redis
// and PostgreSQL: a retry lands on whichever process the balancer picks.

type Accepted = { ticket_id?: string; error?: { code: string } };

let env: Awaited<ReturnType<typeof createProcessEnv>>;
let api2: HttpClient;
let saleId: string;

beforeAll(async () => {
  env = await createProcessEnv();
  const port = await freePort();
  env.roles.push(await startRole("api", envOf(env.cfg, { PORT: String(port) }), /api listening/));
  api2 = httpClient(`http://127.0.0.1:${port}`);
  saleId = await env.createSale({
    items: [
      { item_id: "A", stock: 100 },
      { item_id: "B", stock: 100 },
    ],
    user_limit: 10,
  });
});
afterAll(async () => {
  await env?.close();
});

const checkout = (http: HttpClient, key: string, user: string, item: string) =>
  http.json<Accepted>("/checkout", {
    method: "POST",
    json: { user_id: user, item_id: item },
    headers: { "idempotency-key": key },
  });

const ticketsOf = async (user: string) =>
  (await readTickets(env.deps, saleId)).filter((t) => t.user === user);

describe("Idempotency-Key", () => {
  it("the same key and body return the same ticket, from either API process and in either form", async () => {
    const first = await checkout(env, "k-alice", "alice", "A");
    expect(first.status).toBe(202);
    const again = await checkout(api2, "k-alice", "alice", "A");
    expect(again.status).toBe(202);
    expect(again.body.ticket_id).toBe(first.body.ticket_id);
    expect(again.headers.get("location")).toBe(first.headers.get("location"));
    // The query form of the same checkout is the same request.
    const byQuery = await env.json<Accepted>("/checkout?user_id=alice&id=A", {
      method: "POST",
      headers: { "idempotency-key": "k-alice" },
    });
    expect(byQuery.body.ticket_id).toBe(first.body.ticket_id);
    expect(await ticketsOf("alice")).toHaveLength(1);
  });

  it("the same key with another item is 409 idempotency_conflict", async () => {
    const first = await checkout(env, "k-bob", "bob", "A");
    expect(first.status).toBe(202);
    const res = await checkout(api2, "k-bob", "bob", "B");
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ error: { code: "idempotency_conflict", message: expect.any(String) } });
    expect(await ticketsOf("bob")).toHaveLength(1);
  });

  it("keys are per user: another shopper's same key neither finds nor blocks the first one's ticket", async () => {
    const bob = await checkout(env, "k-shared", "bob2", "A");
    const mallory = await checkout(api2, "k-shared", "mallory", "A");
    expect([bob.status, mallory.status]).toEqual([202, 202]);
    expect(mallory.body.ticket_id).not.toBe(bob.body.ticket_id);
    // Each one's retry still finds its own ticket.
    expect((await checkout(env, "k-shared", "bob2", "A")).body.ticket_id).toBe(bob.body.ticket_id);
    expect((await checkout(env, "k-shared", "mallory", "A")).body.ticket_id).toBe(mallory.body.ticket_id);
    expect(await ticketsOf("bob2")).toHaveLength(1);
    expect(await ticketsOf("mallory")).toHaveLength(1);
  });

  it("150 concurrent requests with one key, over both processes, make exactly one ticket", async () => {
    const answers = await crowd(150, 150, (i) => checkout(i % 2 ? env : api2, "k-carol", "carol", "B"));
    expect(answers.every((a) => a.status === 202)).toBe(true);
    const ids = new Set(answers.map((a) => a.body.ticket_id));
    expect(ids.size).toBe(1);
    const mine = await ticketsOf("carol");
    expect(mine.map((t) => t.id)).toEqual([...ids]);
    await waitForRest(env.deps, saleId);
    expect((await checkInvariants(env.deps, saleId)).violations).toEqual([]);
    const bought = await env.json<{ purchases: unknown[] }>(`/users/carol/purchases?sale_id=${saleId}`);
    expect(bought.body.purchases).toHaveLength(1);
  });

  it("a client retrying after its API process was killed (SIGKILL) gets the same ticket from the other", async () => {
    const first = await checkout(env, "k-dave", "dave", "A");
    expect(first.status).toBe(202);
    const api1 = env.roles.find((r) => r.child.spawnargs.some((a) => a.includes("api/main.ts")));
    await api1?.kill("SIGKILL");
    const retry = await checkout(api2, "k-dave", "dave", "A");
    expect(retry.status).toBe(202);
    expect(retry.body.ticket_id).toBe(first.body.ticket_id);
    expect(await ticketsOf("dave")).toHaveLength(1);
  });
});
