import { sign } from "hono/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTicketId } from "../shared/keys.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";

// Optional signed shopper identity (issue 13): with AUTH_JWT_SECRET set, the shopper
// routes take the user from a bearer token's `sub`, and tickets, their events, codes and
// purchases answer only their owner (404 to anyone else, no hint that they exist).

const SECRET = "a-test-secret-that-is-long-enough-for-hs256";
let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ env: { LOG_LEVEL: "fatal", AUTH_JWT_SECRET: SECRET } });
});
afterAll(async () => {
  await env?.close();
});

const tokenFor = (sub: string, secret = SECRET, expIn = 3600) =>
  sign({ sub, exp: Math.floor(Date.now() / 1000) + expIn }, secret, "HS256");
const as = async (sub: string) => ({ authorization: `Bearer ${await tokenFor(sub)}` });

describe("signed shopper identity", () => {
  it("refuses shopper routes without a valid token, 401 with the contract's body; public routes stay open", async () => {
    await env.createSale({ items: [{ item_id: "id-a", stock: 5 }] });
    const cases: [string, Record<string, string>][] = [
      ["none", {}],
      ["not a token", { authorization: "Bearer nonsense" }],
      ["another secret", { authorization: `Bearer ${await tokenFor("alice", `${SECRET}-other`)}` }],
      ["expired", { authorization: `Bearer ${await tokenFor("alice", SECRET, -60)}` }],
      // A token that never expires is refused too.
      ["no expiry", { authorization: `Bearer ${await sign({ sub: "alice" }, SECRET, "HS256")}` }],
      ["basic", { authorization: "Basic YWxpY2U6eA==" }],
    ];
    for (const [, headers] of cases) {
      const res = await env.json("/checkout?id=id-a", { method: "POST", headers });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
    expect((await env.request("/sales/current")).status).toBe(200);
    expect((await env.request("/health")).status).toBe(200);
  });

  it("the user is the token's sub: user_id may be left out, and another one is 400", async () => {
    await env.createSale({ items: [{ item_id: "id-b", stock: 5 }] });
    const ok = await env.json<{ ticket_id: string; status: string }>("/checkout?id=id-b&wait=5000", {
      method: "POST",
      headers: await as("alice"),
    });
    expect(ok.status).toBe(202);
    const t = await env.json<{ user_id: string }>(`/tickets/${ok.body.ticket_id}`, {
      headers: await as("alice"),
    });
    expect(t.body.user_id).toBe("alice");
    const same = await env.json("/checkout?user_id=alice&id=id-b", {
      method: "POST",
      headers: await as("alice"),
    });
    expect(same.status).toBe(202);
    const other = await env.json<{ error: { code: string } }>("/checkout?user_id=bob&id=id-b", {
      method: "POST",
      headers: await as("alice"),
    });
    expect(other.status).toBe(400);
    expect(other.body.error.code).toBe("invalid_request");
    const json = await env.json("/checkout", {
      method: "POST",
      headers: await as("alice"),
      json: { item_id: "id-b" },
    });
    expect(json.status).toBe(202);
  });

  it("another user's ticket, events, long poll, code and purchases are 404", async () => {
    await env.createSale({ items: [{ item_id: "id-c", stock: 5 }] });
    const mine = await env.json<{ ticket_id: string }>("/checkout?id=id-c&wait=5000", {
      method: "POST",
      headers: await as("carol"),
    });
    expect(mine.status).toBe(202);
    const id = mine.body.ticket_id;
    const mallory = await as("mallory");
    for (const path of [`/tickets/${id}`, `/tickets/${id}?wait=100`, `/tickets/${id}/events`]) {
      const res = await env.request(path, { headers: mallory });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("ticket_not_found");
    }
    // HEAD of the stream too (it answers headers only): 404 to another user, 200 to the owner.
    expect((await env.request(`/tickets/${id}/events`, { method: "HEAD", headers: mallory })).status).toBe(
      404,
    );
    expect(
      (await env.request(`/tickets/${id}/events`, { method: "HEAD", headers: await as("carol") })).status,
    ).toBe(200);
    // The owner reads all of them.
    expect((await env.request(`/tickets/${id}`, { headers: await as("carol") })).status).toBe(200);
    const carols = await env.json<{ purchases: { ticket_id: string }[] }>("/users/carol/purchases", {
      headers: await as("carol"),
    });
    expect(carols.body.purchases.map((p) => p.ticket_id)).toEqual([id]);
    expect((await env.request("/users/carol/purchases", { headers: mallory })).status).toBe(404);
  });

  it("a two_step hold is paid only by its owner: another user's POST /purchase is 404 and confirms nothing", async () => {
    await env.createSale({ items: [{ item_id: "id-d", stock: 5 }], checkout_mode: "two_step", hold_s: 30 });
    const held = await env.json<{ ticket_id: string; code: string }>("/checkout?id=id-d&wait=5000", {
      method: "POST",
      headers: await as("dave"),
    });
    expect(held.body.code).toBeTruthy();
    const code = encodeURIComponent(held.body.code);
    const stolen = await env.json<{ error: { code: string } }>(`/purchase?code=${code}`, {
      method: "POST",
      headers: await as("mallory"),
    });
    expect(stolen.status).toBe(404);
    expect(stolen.body.error.code).toBe("code_not_found");
    const r = parseTicketId(held.body.ticket_id);
    expect(await env.deps.redis.hget(env.deps.keys.ticket(r?.saleId ?? "", r?.seq ?? ""), "cf")).toBeNull();
    const paid = await env.json(`/purchase?code=${code}`, { method: "POST", headers: await as("dave") });
    expect(paid.status).toBe(202);
  });
});

describe.each([
  { alg: "RS256" as const, kind: "rsa" as const },
  { alg: "ES256" as const, kind: "ec" as const },
])("signed shopper identity with a public key ($alg)", ({ alg, kind }) => {
  it("takes tokens signed by the private key, refuses HS256 ones and others' keys", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const pair = () =>
      kind === "rsa"
        ? generateKeyPairSync("rsa", {
            modulusLength: 2048,
            publicKeyEncoding: { type: "spki", format: "pem" },
            privateKeyEncoding: { type: "pkcs8", format: "pem" },
          })
        : generateKeyPairSync("ec", {
            namedCurve: "P-256",
            publicKeyEncoding: { type: "spki", format: "pem" },
            privateKeyEncoding: { type: "pkcs8", format: "pem" },
          });
    const ours = pair();
    const theirs = pair();
    const file = `${mkdtempSync(`${tmpdir()}/fs-jwt-`)}/public.pem`;
    writeFileSync(file, ours.publicKey);
    const env2 = await createTestEnv({
      env: { LOG_LEVEL: "fatal", AUTH_JWT_PUBLIC_KEY_FILE: file, AUTH_JWT_ALG: alg },
    });
    try {
      await env2.createSale({ items: [{ item_id: "pk", stock: 5 }] });
      const exp = Math.floor(Date.now() / 1000) + 3600;
      const checkout = (token: string) =>
        env2.request("/checkout?id=pk", { method: "POST", headers: { authorization: `Bearer ${token}` } });
      expect((await checkout(await sign({ sub: "erin", exp }, ours.privateKey, alg))).status).toBe(202);
      expect((await checkout(await sign({ sub: "erin", exp }, theirs.privateKey, alg))).status).toBe(401);
      // A token naming another algorithm is refused, even "signed" with the public key itself.
      expect((await checkout(await sign({ sub: "erin", exp }, ours.publicKey, "HS256"))).status).toBe(401);
    } finally {
      await env2.close();
    }
  });
});
