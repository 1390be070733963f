import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { sign } from "hono/jwt";
import { type Browser, chromium, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { CHROMIUM, CHROMIUM_ARGS, skipWithoutChromium, watchPage } from "./helpers/browser.js";

// The shoppers' page at / in a real headless browser: Debian's chromium driven by
// playwright-core (test/helpers/browser.ts).
const skip = skipWithoutChromium("storefront");
// STOREFRONT_SCREENSHOT=docs/storefront.png refreshes the picture in the README, mid-sale.
const SCREENSHOT = process.env.STOREFRONT_SCREENSHOT;

// DOM states come within a second or two; this leaves room on a loaded machine.
const STATE_MS = 15_000;

let env: TestEnv;
let browser: Browser;
let page: Page;
let problems: string[];
let direct: string;
let twoStep: string;

let leaving = false;

/**
 * Everything that went wrong on a page: console errors, uncaught exceptions, failed or
 * refused requests; save a request the test itself cut short by leaving the page (leave()).
 */
const watch = (p: Page) =>
  watchPage(p, { abandoned: (_, error) => leaving && error === "net::ERR_ABORTED", errorStatuses: true });

/** Navigates away (a reload, another URL), which aborts the page's refresh if one is in flight. */
async function leave(go: () => Promise<unknown>) {
  leaving = true;
  try {
    await go();
  } finally {
    leaving = false;
  }
}

const cards = () => page.locator(".ticket-list > li");
const card = (id: string) => page.locator(`[data-ticket="${id}"]`);
const row = (itemId: string) => page.locator(`[data-item="${itemId}"]`);

/** Clicks Buy on an item's row and answers the new ticket's id, once its card is on the page. */
async function buy(itemId: string): Promise<string> {
  const before = await cards().count();
  await row(itemId).getByRole("button", { name: /^Buy/ }).click();
  await expect.poll(() => cards().count(), { timeout: STATE_MS }).toBe(before + 1);
  const id = await cards().first().getAttribute("data-ticket");
  if (!id) throw new Error("the new ticket's card has no id");
  return id;
}

/** Waits until a card shows this status (and reason). */
async function until(id: string, status: string, reason?: string): Promise<Locator> {
  const sel = `[data-ticket="${id}"][data-status="${status}"]${reason ? `[data-reason="${reason}"]` : ""}`;
  const found = page.locator(sel);
  await found.waitFor({ timeout: STATE_MS });
  return found;
}

async function purchasesOf(user: string, saleId: string) {
  const res = await env.json<{ purchases: { item_id: string; ticket_id: string }[] }>(
    `/users/${user}/purchases?sale_id=${saleId}`,
  );
  return res.body.purchases;
}

describe.skipIf(skip)("the storefront in a browser", () => {
  beforeAll(async () => {
    env = await createTestEnv({ workers: 1 });
    // More items than a page (50), and an item id ("tote") on sale in both sales, so a
    // checkout that did not name its sale would be refused as ambiguous.
    const stickers = Array.from({ length: 55 }, (_, i) => {
      const n = String(i + 1).padStart(2, "0");
      return { item_id: `z${n}`, stock: 3, name: `Sticker no. ${n}` };
    });
    direct = await env.createSale({
      items: [
        { item_id: "kb", stock: 5, name: "Mechanical keyboard" },
        { item_id: "lamp", stock: 3, name: "Desk lamp" },
        { item_id: "tote", stock: 4, name: "Canvas tote" },
        ...stickers,
      ],
    });
    twoStep = await env.createSale({
      items: [
        { item_id: "sneakers", stock: 1, name: "Limited sneakers" },
        { item_id: "jacket", stock: 2, name: "Rain jacket" },
        { item_id: "tote", stock: 6, name: "Canvas tote" },
      ],
      checkout_mode: "two_step",
      hold_s: 120,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
    problems = watch(page);
  });

  afterAll(async () => {
    await browser?.close();
    await env?.close();
  });

  it("serves the page and its two files with a policy that allows only this server", async () => {
    for (const path of ["/", "/storefront/app.js", "/storefront/style.css"]) {
      const res = await env.request(path);
      expect(res.status, path).toBe(200);
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).not.toMatch(/unsafe|https?:|\*/);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
    expect((await env.request("/")).headers.get("content-type")).toMatch(/^text\/html/);
    expect((await env.request("/storefront/index.html")).status).toBe(404);
    expect((await env.request("/storefront/..%2Fapp.ts")).status).toBe(404);
  });

  it("shows every open sale in a picker, and a sale's items a page at a time with the stock left", async () => {
    await page.goto(`${env.url}/`);
    const picker = page.getByLabel("Sale", { exact: true });
    await expect.poll(() => picker.locator("option").count(), { timeout: STATE_MS }).toBe(2);
    await picker.selectOption(direct);
    await row("kb").waitFor({ timeout: STATE_MS });
    expect(await row("kb").locator(".stock").textContent()).toBe("5 of 5");
    expect(await page.locator("[data-item]").count()).toBe(50);
    await page.getByRole("button", { name: "More items" }).click();
    await expect.poll(() => page.locator("[data-item]").count(), { timeout: STATE_MS }).toBe(58);
    expect(await page.getByRole("button", { name: "More items" }).isHidden()).toBe(true);
    expect(await page.getByRole("link", { name: "API docs" }).getAttribute("href")).toBe("/docs");
    expect(await page.getByRole("link", { name: "Operators" }).getAttribute("href")).toBe("/admin");
  });

  it("buys an item in the sale picked (naming it, as the item is on sale twice) and sees it purchased", async () => {
    // Buy asks for a name first, and says so.
    await row("tote").getByRole("button", { name: /^Buy/ }).click();
    await page.getByRole("alert").filter({ hasText: "Enter your name first" }).waitFor({ timeout: STATE_MS });
    await page.getByLabel("Your name").fill("alice");

    const id = await buy("tote");
    const done = await until(id, "purchased");
    expect(await done.textContent()).toMatch(/Purchased · purchase \d+/);
    expect(id.startsWith(`${direct}-`)).toBe(true);
    // Without its sale the same checkout is refused: the page named it.
    const bare = await env.json<{ error: { code: string } }>("/checkout?user_id=bob&id=tote", {
      method: "POST",
    });
    expect([bare.status, bare.body.error.code]).toEqual([409, "sale_ambiguous"]);
    expect((await purchasesOf("alice", direct)).map((p) => p.ticket_id)).toEqual([id]);
    // The ticket's events carry the item's stock, so the row follows without a reload.
    await expect
      .poll(() => row("tote").locator(".stock").textContent(), { timeout: STATE_MS })
      .toBe("3 of 4");
    expect(await page.getByRole("alert").isHidden()).toBe(true);
  });

  it("holds a two_step unit with its code, and cancels a ticket waiting behind it", async () => {
    await page.getByLabel("Sale", { exact: true }).selectOption(twoStep);
    await row("sneakers").waitFor({ timeout: STATE_MS });

    const holder = await buy("sneakers");
    const held = await until(holder, "reserved");
    await held
      .locator(".code code")
      .filter({ hasText: `${holder}.` })
      .waitFor({ timeout: STATE_MS });
    expect(await held.getByRole("button", { name: "Pay" }).isVisible()).toBe(true);
    // The one unit is held: the row says so, and a second checkout waits in line for it.
    await expect
      .poll(() => row("sneakers").locator(".stock").textContent(), { timeout: STATE_MS })
      .toBe("0 of 1, 1 held");
    const waiter = await buy("sneakers");
    const queued = await until(waiter, "queued");
    await queued
      .locator(".detail")
      .filter({ hasText: /^Position 1 in line/ })
      .waitFor({ timeout: STATE_MS });
    expect(await queued.getByRole("button", { name: "Pay" }).isHidden()).toBe(true);

    // The sale's own numbers follow soon after (read again after each checkout).
    await page
      .locator('[data-field="sale.summary"]')
      .filter({ hasText: "8 of 9 units left" })
      .waitFor({ timeout: STATE_MS });

    if (SCREENSHOT) {
      mkdirSync(dirname(SCREENSHOT), { recursive: true });
      await page.mouse.move(0, 0);
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    }

    await queued.getByRole("button", { name: "Cancel" }).click();
    const cancelled = await until(waiter, "rejected", "cancelled");
    expect(await cancelled.locator(".detail").textContent()).toBe("cancelled: you left the line");
    expect(await cancelled.getByRole("button", { name: "Cancel" }).isHidden()).toBe(true);
    const t = await env.json<{ status: string; reason: string }>(`/tickets/${waiter}`);
    expect(t.body).toMatchObject({ status: "rejected", reason: "cancelled" });
    // The hold it waited behind is untouched.
    expect(await card(holder).getAttribute("data-status")).toBe("reserved");
  });

  it("pays the hold with the Pay button and sees it purchased; the item is then sold out", async () => {
    const holder = await cards().nth(1).getAttribute("data-ticket");
    if (!holder) throw new Error("no holder card");
    await card(holder).getByRole("button", { name: "Pay" }).click();
    await until(holder, "purchased");
    expect((await purchasesOf("alice", twoStep)).map((p) => p.ticket_id)).toEqual([holder]);
    await row("sneakers")
      .getByRole("button", { name: /^Sold out/ })
      .waitFor({ timeout: STATE_MS });
    expect(
      await row("sneakers")
        .getByRole("button", { name: /^Sold out/ })
        .isDisabled(),
    ).toBe(true);
  });

  it("remembers the shopper and their tickets across a reload, and nothing on the page went wrong", async () => {
    const before = await cards().evaluateAll((els) =>
      els.map((e) => `${e.getAttribute("data-ticket")} ${e.getAttribute("data-status")}`),
    );
    expect(before).toHaveLength(3);
    await leave(() => page.reload());
    expect(await page.getByLabel("Your name").inputValue()).toBe("alice");
    await page.locator("[data-item]").first().waitFor({ timeout: STATE_MS });
    // From GET /users/alice/tickets, with the ids this browser kept, newest first as before.
    await expect
      .poll(
        () =>
          cards().evaluateAll((els) =>
            els.map((e) => `${e.getAttribute("data-ticket")} ${e.getAttribute("data-status")}`),
          ),
        { timeout: STATE_MS },
      )
      .toEqual(before);
    expect(problems).toEqual([]);
  });

  it("works when opened as http://user:pass@host/ (its requests are built from the page's origin)", async () => {
    const url = new URL(env.url);
    url.username = "someone";
    url.password = "secret";
    await leave(() => page.goto(url.href));
    await page.locator("[data-item]").first().waitFor({ timeout: STATE_MS });
    await expect.poll(() => cards().count(), { timeout: STATE_MS }).toBe(3);
    expect(problems).toEqual([]);
  });
});

describe.skipIf(skip)("the storefront with signed shopper identity", () => {
  const SECRET = "storefront-test-secret-of-32-chars-or-more";
  let idEnv: TestEnv;
  let idBrowser: Browser;

  beforeAll(async () => {
    idEnv = await createTestEnv({ workers: 1, env: { AUTH_JWT_SECRET: SECRET, LOG_LEVEL: "fatal" } });
    idBrowser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await idBrowser?.close();
    await idEnv?.close();
  });

  it("a pasted token is sent as a bearer: the shopper buys and pays a hold, followed by polling", async () => {
    const saleId = await idEnv.createSale({
      items: [{ item_id: "scarf", stock: 1, name: "Wool scarf" }],
      checkout_mode: "two_step",
      hold_s: 120,
    });
    const token = await sign({ sub: "tara", exp: Math.floor(Date.now() / 1000) + 600 }, SECRET, "HS256");
    page = await idBrowser.newPage();
    problems = watch(page);
    const streams: string[] = [];
    page.on("request", (r) => {
      if (r.url().endsWith("/events")) streams.push(r.url());
    });
    await page.goto(`${idEnv.url}/`);
    await row("scarf").waitFor({ timeout: STATE_MS });
    await page.getByText("Signed in elsewhere?").click();
    await page.getByLabel("Bearer token").fill(token);

    const id = await buy("scarf");
    const held = await until(id, "reserved");
    await held.getByRole("button", { name: "Pay" }).click();
    await until(id, "purchased");
    const mine = await idEnv.json<{ purchases: { ticket_id: string }[] }>(
      `/users/tara/purchases?sale_id=${saleId}`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    expect(mine.body.purchases.map((p) => p.ticket_id)).toEqual([id]);
    // No event stream was opened: it could not have carried the token.
    expect(streams).toEqual([]);
    expect(problems).toEqual([]);
  });
});
