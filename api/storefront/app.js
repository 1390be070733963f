// The storefront: the open sales and their items, a Buy button per item, and each
// ticket followed live (its event stream) with Pay and Cancel where they apply.
// Plain DOM, no framework: every value from the server goes in as text (el() below),
// never as HTML. Every URL is built from the page's origin: Chromium refuses a
// relative fetch on a page opened as http://user:pass@host/.

const USER_KEY = "flashsale.user";
const TOKEN_KEY = "flashsale.token";
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const PAGE_SIZE = 50;
// The most rows one refresh re-reads (the API's page limit).
const MAX_PAGE = 1000;
// The sales and the stock shown are read again this often (a shopper's own tickets bring
// their item's stock with every event): a crowd with the page open reads a little each.
const REFRESH_MS = 10_000;
// A browser opens at most six HTTP/1.1 connections to one host and an event stream
// keeps one: past this many, tickets are polled so fetches still get through.
const MAX_STREAMS = 4;
const FINAL = new Set(["purchased", "rejected", "failed"]);
const STAGE = { queued: 0, reserved: 1, paying: 2 };
const stage = (status) => STAGE[status] ?? 3;

const REASONS = {
  sold_out: "sold out",
  user_limit_reached: "you hold as many as this sale allows",
  sale_not_active: "the sale is not open",
  cancelled: "you left the line",
  payment_declined: "the payment was declined",
  payment_timeout: "the payment timed out",
  hold_expired: "the hold ended before it was paid",
};

const api = (path) => new URL(path, location.origin);
const field = (name) => document.querySelector(`[data-field="${name}"]`);
const whole = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** An element with attributes and children. Strings become text nodes, so nothing is parsed as HTML. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children)
    if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function fmtWait(ms) {
  if (ms < 1000) return "under a second";
  const s = Math.round(ms / 1000);
  return s < 90 ? `about ${s} s` : `about ${Math.round(s / 60)} min`;
}

function fmtClock(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// ---- requests ------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const userInput = document.getElementById("user");
const tokenInput = document.getElementById("token");
const token = () => tokenInput.value.trim();

async function call(method, path, body) {
  const headers = new Headers();
  if (token()) headers.set("authorization", `Bearer ${token()}`);
  if (body !== undefined) headers.set("content-type", "application/json");
  const init = { method, headers, cache: "no-store" };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(api(path), init);
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const error = data?.error ?? {};
    throw new ApiError(res.status, error.code ?? "error", error.message ?? res.statusText);
  }
  return data;
}

function say(text, kind = "error") {
  const banner = field("message");
  banner.hidden = !text;
  banner.dataset.kind = kind;
  setText(banner, text ?? "");
}

function describe(err) {
  if (!(err instanceof ApiError)) return "The shop cannot be reached.";
  if (err.status === 401) return "This shop needs to know who you are: paste your token above.";
  return `${err.message} (${err.status} ${err.code})`;
}

// ---- sales and items -----------------------------------------------------

const state = {
  sales: [],
  upcoming: [],
  saleId: null,
  nextCursor: null,
  rows: new Map(), // item_id -> { tr, stock (its cell), button, name } of the sale shown
  tickets: new Map(), // ref -> entry
  ticketsOf: "", // whose tickets are shown
  streams: 0,
};

/** The open sales (newest first) and the next few to open. */
async function loadSales() {
  const [open, upcoming] = await Promise.all([
    call("GET", "/sales?status=open&limit=100"),
    call("GET", "/sales?status=scheduled&limit=3"),
  ]);
  state.sales = open.sales;
  state.upcoming = upcoming.sales;
}

const modeLabel = (sale) => (sale.checkout_mode === "two_step" ? "reserve, then pay" : "pay at once");
const saleTitle = (sale) => `Sale ${sale.sale_id}`;

function renderSales() {
  const picker = field("sale.picker");
  const select = document.getElementById("sale");
  const { sales } = state;
  picker.hidden = sales.length < 2;
  // Rebuilt only when the sales change, so a refresh does not close the list under the shopper.
  const options = sales.map((s) => `${saleTitle(s)} · ${modeLabel(s)} · until ${fmtClock(s.ends_at)}`);
  const key = sales.map((s, i) => `${s.sale_id} ${options[i]}`).join("\n");
  if (select.dataset.key !== key) {
    select.dataset.key = key;
    select.replaceChildren(...sales.map((s, i) => el("option", { value: s.sale_id }, options[i])));
  }
  if (state.saleId) select.value = state.saleId;
  const sale = sales.find((s) => s.sale_id === state.saleId);
  setText(field("sale.title"), sale ? saleTitle(sale) : "Sales");
  const next = state.upcoming.reduce(
    (soonest, s) => (!soonest || Date.parse(s.starts_at) < Date.parse(soonest.starts_at) ? s : soonest),
    null,
  );
  setText(
    field("sale.next"),
    next ? `Next: ${saleTitle(next)} opens at ${fmtClock(next.starts_at)}, ${modeLabel(next)}.` : "",
  );
  if (!sale) {
    setText(field("sale.summary"), "No sale is open right now.");
    return;
  }
  const left = whole.format(sale.stock.available);
  const hold = sale.checkout_mode === "two_step" ? `, holds last ${sale.hold_s} s` : "";
  setText(
    field("sale.summary"),
    `Open until ${fmtClock(sale.ends_at)} · ${left} of ${whole.format(sale.stock.total)} units left · ` +
      `${modeLabel(sale)}${hold} · up to ${sale.user_limit} per shopper`,
  );
}

function stockText(stock) {
  if (stock.available > 0) return `${whole.format(stock.available)} of ${whole.format(stock.total)}`;
  if (stock.reserved > 0) return `0 of ${whole.format(stock.total)}, ${whole.format(stock.reserved)} held`;
  return "sold out";
}

/** A row's stock; Buy stays enabled while units are held, since a held unit may come back. */
function setStock(row, stock) {
  setText(row.stock, stockText(stock));
  row.tr.dataset.available = String(stock.available);
  const gone = stock.available + stock.reserved === 0;
  row.button.disabled = gone;
  setText(row.button, gone ? "Sold out" : "Buy");
  row.button.setAttribute("aria-label", `${gone ? "Sold out" : "Buy"}: ${row.name}`);
}

function addRows(items) {
  const body = field("items.rows");
  for (const item of items) {
    const row = state.rows.get(item.item_id);
    if (row) {
      setStock(row, item.stock);
      continue;
    }
    const stock = el("td", { class: "stock" });
    const button = el("button", { type: "button", class: "buy" }, "Buy");
    const saleId = state.saleId;
    button.addEventListener("click", () => buy(saleId, item, button));
    const tr = el(
      "tr",
      { "data-item": item.item_id },
      el(
        "td",
        {},
        el("span", { class: "name" }, item.name || item.item_id),
        " ",
        el("span", { class: "muted" }, `#${item.item_id}`),
      ),
      stock,
      el("td", { class: "action" }, button),
    );
    const made = { tr, stock, button, name: item.name || item.item_id };
    state.rows.set(item.item_id, made);
    setStock(made, item.stock);
    body.append(tr);
  }
  field("items").hidden = state.rows.size === 0;
}

async function showSale(saleId) {
  state.saleId = saleId;
  state.rows.clear();
  state.nextCursor = null;
  field("items.rows").replaceChildren();
  field("items").hidden = true;
  field("items.more").hidden = true;
  renderSales();
  if (saleId) await moreItems();
}

async function moreItems() {
  const saleId = state.saleId;
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (state.nextCursor) query.set("cursor", state.nextCursor);
  const page = await call("GET", `/sales/${encodeURIComponent(saleId)}/items?${query}`);
  if (saleId !== state.saleId) return;
  addRows(page.items);
  state.nextCursor = page.next_cursor;
  field("items.more").hidden = !page.next_cursor;
}

/** The open sales again, and the stock of every row shown (one request: the rows are one run of the list). */
async function refresh() {
  await loadSales();
  if (!state.sales.some((s) => s.sale_id === state.saleId)) {
    await showSale(state.sales[0]?.sale_id ?? null);
    return;
  }
  renderSales();
  const shown = Math.min(Math.max(state.rows.size, 1), MAX_PAGE);
  const saleId = state.saleId;
  const page = await call("GET", `/sales/${encodeURIComponent(saleId)}/items?limit=${shown}`);
  if (saleId === state.saleId)
    for (const item of page.items) {
      const row = state.rows.get(item.item_id);
      if (row) setStock(row, item.stock);
    }
}

let soon = null;
/** A refresh shortly after the shopper changed something, so the sale's numbers follow. */
function refreshSoon() {
  clearTimeout(soon);
  soon = setTimeout(() => refresh().catch(() => {}), 300);
}

// ---- checkout ------------------------------------------------------------

/** The token's user (its `sub`), read for display and the ticket list; the server verifies it. */
function subOf(jwt) {
  try {
    const payload = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const sub = JSON.parse(atob(payload)).sub;
    return typeof sub === "string" && ID_RE.test(sub) ? sub : "";
  } catch {
    return "";
  }
}

/** Whose tickets to list: the token's user, else the name typed (if it is a valid id). */
function currentUser() {
  if (token()) return subOf(token());
  const user = userInput.value.trim();
  return ID_RE.test(user) ? user : "";
}

function shopper() {
  if (token()) return "";
  const user = userInput.value.trim();
  if (!ID_RE.test(user)) {
    userInput.setAttribute("aria-invalid", "true");
    userInput.focus();
    throw new Error("Enter your name first: letters, digits, _ or -, up to 64.");
  }
  userInput.removeAttribute("aria-invalid");
  return user;
}

async function buy(saleId, item, button) {
  let user;
  try {
    user = shopper();
  } catch (err) {
    say(err.message);
    return;
  }
  // The query form: it names the sale, since an item id may be on sale in several at once.
  const query = new URLSearchParams({ id: item.item_id, sale_id: saleId });
  if (user) query.set("user_id", user);
  button.disabled = true;
  try {
    const answer = await call("POST", `/checkout?${query}`);
    say(null);
    remember(refOf(answer.ticket_id), answer.ticket_id, item.name);
    track({ ...answer, item_id: item.item_id, sale_id: saleId }, item.name);
    refreshSoon();
  } catch (err) {
    say(describe(err));
  } finally {
    const row = state.rows.get(item.item_id);
    button.disabled = row ? row.button.textContent === "Sold out" : false;
  }
}

// ---- tickets -------------------------------------------------------------

function detailOf(t) {
  switch (t.status) {
    case "queued":
      if (t.position === null || t.position === undefined) return "In the waiting room until the sale opens.";
      return `Position ${whole.format(t.position)} in line${t.eta_ms != null ? ` · ${fmtWait(t.eta_ms)}` : ""}`;
    case "reserved":
      return t.code
        ? "A unit is held for you: pay before the hold ends."
        : "A unit is held; the payment is next.";
    case "paying":
      return "Paying…";
    case "purchased":
      return `Purchased${t.purchase_id ? ` · purchase ${t.purchase_id}` : ""}`;
    default:
      return t.reason ? `${t.reason}: ${REASONS[t.reason] ?? "ended"}` : "Ended.";
  }
}

function holdLeft(t) {
  if (!t.expires_at || t.status !== "reserved") return "";
  const s = Math.max(0, Math.ceil((Date.parse(t.expires_at) - Date.now()) / 1000));
  return `hold ends in ${s} s`;
}

function renderTicket(entry) {
  const { t, parts } = entry;
  entry.card.dataset.status = t.status;
  entry.card.dataset.reason = t.reason ?? "";
  setText(parts.status, t.status);
  setText(parts.detail, detailOf(t));
  const holding = t.status === "reserved" && Boolean(t.code);
  parts.code.hidden = !holding;
  if (holding) {
    setText(parts.codeValue, t.code);
    setText(parts.hold, holdLeft(t));
  }
  // Without its id (listed, not bought here) a ticket can be shown but not acted on.
  parts.pay.hidden = !entry.id || !holding || entry.paid;
  // A queued ticket leaves the line; a two_step hold not yet paid is given up.
  parts.cancel.hidden = !entry.id || !(t.status === "queued" || (holding && !entry.paid));
}

/** A newer view of the ticket; an older one (a stream or poll behind an answer) is ignored. */
function update(entry, t) {
  if (stage(t.status) < stage(entry.t.status) || FINAL.has(entry.t.status)) return;
  entry.t = { ...entry.t, ...t };
  renderTicket(entry);
  if (t.stock && t.sale_id === state.saleId) {
    const row = state.rows.get(t.item_id);
    if (row) setStock(row, t.stock);
  }
  // A ticket that ended changed its sale's totals too (units left), not only its item's row.
  if (FINAL.has(t.status)) refreshSoon();
}

/** "<sale>-<seq>", the start of a ticket id: what the user's ticket list names each ticket by. */
const refOf = (ticketId) => ticketId.split("-", 2).join("-");

// The ids of the tickets bought on this device, by ref, with the item's name: the list of a
// user's tickets gives ids only of purchased ones (with identity off anyone can name a
// user), and an id is what reads, pays or cancels a ticket.
const KNOWN_KEY = "flashsale.tickets";
const MAX_KNOWN = 100;

function known() {
  try {
    return JSON.parse(localStorage.getItem(KNOWN_KEY) ?? "{}") ?? {};
  } catch {
    return {};
  }
}

function remember(ref, id, name) {
  const all = known();
  delete all[ref];
  all[ref] = { id, name };
  const refs = Object.keys(all);
  for (const old of refs.slice(0, Math.max(0, refs.length - MAX_KNOWN))) delete all[old];
  localStorage.setItem(KNOWN_KEY, JSON.stringify(all));
}

/**
 * Shows a ticket and follows it. `t` is a ticket, a checkout's answer, or an entry of the
 * user's ticket list (whose id may be null: then it is shown as listed, without actions).
 */
function track(t, name) {
  const ref = t.ref ?? refOf(t.ticket_id);
  const had = state.tickets.get(ref);
  if (had) {
    // Listed before its checkout answered: now its id is known.
    if (!had.id && t.ticket_id) {
      had.id = t.ticket_id;
      had.card.dataset.ticket = t.ticket_id;
      update(had, t);
      follow(had);
    }
    return;
  }
  const parts = {
    status: el("span", { class: "badge" }),
    detail: el("p", { class: "detail" }),
    codeValue: el("code", {}),
    hold: el("span", { class: "muted" }),
    pay: el("button", { type: "button", class: "pay" }, "Pay"),
    cancel: el("button", { type: "button", class: "cancel" }, "Cancel"),
  };
  parts.code = el("p", { class: "code" }, "Code ", parts.codeValue, " · ", parts.hold);
  const card = el(
    "li",
    { class: "ticket", "data-ref": ref, "data-ticket": t.ticket_id },
    el(
      "div",
      { class: "ticket-head" },
      el("strong", {}, name || t.item_id),
      el("span", { class: "muted" }, ` sale ${t.sale_id} · #${t.item_id}`),
      parts.status,
    ),
    parts.detail,
    parts.code,
    el("div", { class: "actions" }, parts.pay, parts.cancel),
  );
  const entry = { ref, id: t.ticket_id ?? null, t, card, parts, paid: false, stop: () => {} };
  parts.pay.addEventListener("click", () => pay(entry));
  parts.cancel.addEventListener("click", () => cancel(entry));
  state.tickets.set(ref, entry);
  field("tickets.list").prepend(card);
  field("tickets.empty").hidden = true;
  renderTicket(entry);
  follow(entry);
}

/** The user's tickets (the newest few), in place of those shown: after a reload, or another name. */
async function showTicketsOf(user) {
  for (const entry of state.tickets.values()) entry.stop();
  state.tickets.clear();
  state.ticketsOf = user;
  field("tickets.list").replaceChildren();
  field("tickets.empty").hidden = false;
  if (!user) return;
  const { tickets } = await call("GET", `/users/${encodeURIComponent(user)}/tickets?limit=20`);
  if (state.ticketsOf !== user) return;
  const mine = known();
  // Newest first in the list; each card goes on top.
  for (const t of tickets.reverse()) {
    const kept = mine[t.ref];
    const name = kept?.name ?? state.rows.get(t.item_id)?.name;
    track({ ...t, ticket_id: t.ticket_id ?? kept?.id ?? null }, name);
  }
}

/**
 * Runs a ticket's action from its button (disabled meanwhile) and shows the ticket it
 * answers; `done` marks the entry first, so the ticket is drawn with it.
 */
async function act(entry, button, request, done = () => {}) {
  button.disabled = true;
  try {
    const t = await request();
    done();
    say(null);
    update(entry, t);
    refreshSoon();
  } catch (err) {
    say(describe(err));
  } finally {
    button.disabled = false;
  }
}

async function pay(entry) {
  await act(
    entry,
    entry.parts.pay,
    () => call("POST", "/purchase", { code: entry.t.code }),
    () => {
      entry.paid = true;
    },
  );
  renderTicket(entry);
}

function cancel(entry) {
  return act(entry, entry.parts.cancel, () => call("DELETE", `/tickets/${encodeURIComponent(entry.id)}`));
}

// ---- following a ticket --------------------------------------------------

function follow(entry) {
  if (!entry.id || FINAL.has(entry.t.status)) return;
  // EventSource cannot send an Authorization header: with a token, poll with fetch instead.
  if (!token() && state.streams < MAX_STREAMS) stream(entry);
  else poll(entry);
}

function stream(entry) {
  state.streams++;
  const source = new EventSource(api(`/tickets/${encodeURIComponent(entry.id)}/events`));
  let open = true;
  const stop = () => {
    if (!open) return;
    open = false;
    source.close();
    state.streams--;
  };
  entry.stop = stop;
  const onEvent = (ev) => update(entry, JSON.parse(ev.data));
  for (const status of ["queued", "reserved", "paying", "purchased", "rejected", "failed"])
    source.addEventListener(status, onEvent);
  source.addEventListener("error", () => {
    // The server ends the stream once the ticket is final: stop, or EventSource would reconnect.
    if (FINAL.has(entry.t.status)) stop();
    else if (source.readyState === EventSource.CLOSED) {
      // Refused (too many open, or the server stopping): poll instead.
      stop();
      poll(entry);
    }
    // Otherwise EventSource reconnects by itself and the server sends the ticket as it is.
  });
}

async function poll(entry) {
  let stopped = false;
  entry.stop = () => {
    stopped = true;
  };
  const path = `/tickets/${encodeURIComponent(entry.id)}`;
  while (!stopped && !FINAL.has(entry.t.status)) {
    await sleep(Math.min(5000, Math.max(500, entry.t.poll_after_ms ?? 1000)));
    if (stopped) return;
    try {
      update(entry, await call("GET", path));
    } catch (err) {
      if (err instanceof ApiError && err.code === "ticket_not_found") {
        setText(entry.parts.detail, "This ticket is no longer known to the shop.");
        return;
      }
      await sleep(2000);
    }
  }
}

// ---- start ---------------------------------------------------------------

function start() {
  userInput.value = localStorage.getItem(USER_KEY) ?? "";
  tokenInput.value = sessionStorage.getItem(TOKEN_KEY) ?? "";
  userInput.addEventListener("input", () => {
    const user = userInput.value.trim();
    if (ID_RE.test(user)) {
      localStorage.setItem(USER_KEY, user);
      userInput.removeAttribute("aria-invalid");
    }
  });
  tokenInput.addEventListener("input", () => {
    if (token()) sessionStorage.setItem(TOKEN_KEY, token());
    else sessionStorage.removeItem(TOKEN_KEY);
  });
  // Another shopper: their tickets in place of the last one's.
  const switchUser = () => {
    if (currentUser() !== state.ticketsOf) showTicketsOf(currentUser()).catch((err) => say(describe(err)));
  };
  userInput.addEventListener("change", switchUser);
  tokenInput.addEventListener("change", switchUser);
  document.getElementById("sale").addEventListener("change", (ev) => {
    showSale(ev.target.value).catch((err) => say(describe(err)));
  });
  field("items.more").addEventListener("click", () => moreItems().catch((err) => say(describe(err))));
  // One clock for every hold's countdown.
  setInterval(() => {
    for (const entry of state.tickets.values())
      if (entry.t.expires_at && entry.t.status === "reserved") setText(entry.parts.hold, holdLeft(entry.t));
  }, 1000);

  const loop = async () => {
    try {
      if (!document.hidden) await refresh();
      if (field("message").dataset.kind === "offline") say(null);
    } catch (err) {
      if (!(err instanceof ApiError)) say(describe(err), "offline");
    }
    setTimeout(loop, REFRESH_MS);
  };
  loadSales()
    .then(() => showSale(state.sales[0]?.sale_id ?? null))
    .then(() => showTicketsOf(currentUser()))
    .catch((err) => say(describe(err), "offline"))
    .finally(() => setTimeout(loop, REFRESH_MS));
}

start();
