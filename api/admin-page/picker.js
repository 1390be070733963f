// The sale picker: which sale the sale tiles show. "Current" follows the newest open
// sale (as /admin/live reports it); a picked sale is read from /stats?sale_id= each
// poll. The queue, the payment slots and the outcomes are every sale's either way.
// The choice is kept in the address (#sale=<id>), so a reload or a shared link keeps it.

import { apiUrl, fmtTime } from "./util.js";

// The list of sales is read again this often: a sale created meanwhile shows up.
const LIST_EVERY_MS = 10_000;
// Newest first: the open and upcoming ones, and the last few that ended.
const LIST_LIMIT = 20;

const select = () => document.getElementById("sale");
let listedAt = 0;

/** The picked sale's id, or "" for the current sale. */
export function pickedSale() {
  return /^#sale=([1-9][0-9]{0,17})$/.exec(location.hash)?.[1] ?? "";
}

function optionFor(sale) {
  const o = document.createElement("option");
  o.value = sale.sale_id;
  o.textContent = `sale ${sale.sale_id} · ${sale.status} · ${fmtTime(sale.starts_at)}–${fmtTime(sale.ends_at)} UTC`;
  return o;
}

/** Fills the picker from GET /sales, keeping the choice (even a sale not in the list). */
async function refreshList() {
  listedAt = Date.now();
  const res = await fetch(apiUrl(`/sales?limit=${LIST_LIMIT}`), { cache: "no-store" });
  if (!res.ok) throw new Error(`GET /sales answered ${res.status}`);
  const { sales } = await res.json();
  const picked = pickedSale();
  const current = document.createElement("option");
  current.value = "";
  current.textContent = "current sale (newest open)";
  const options = [current, ...sales.map(optionFor)];
  if (picked && !sales.some((s) => s.sale_id === picked)) {
    const o = document.createElement("option");
    o.value = picked;
    o.textContent = `sale ${picked}`;
    options.push(o);
  }
  const el = select();
  const text = options.map((o) => `${o.value}:${o.textContent}`).join("\n");
  if (el.dataset.text !== text) {
    el.dataset.text = text;
    el.replaceChildren(...options);
  }
  if (el.value !== picked) el.value = picked;
}

/**
 * The picked sale as /stats reports it ({sale, throughput}), or null for the current
 * sale; the list is read again now and then. Throws with a message for the banner.
 */
export async function readPicked() {
  if (Date.now() - listedAt > LIST_EVERY_MS) await refreshList().catch(() => {});
  const id = pickedSale();
  if (!id) return null;
  const res = await fetch(apiUrl(`/stats?sale_id=${id}`), { cache: "no-store" });
  const body = await res.json().catch(() => null);
  if (!res.ok)
    throw new Error(
      `GET /stats?sale_id=${id} answered ${res.status}: ${body?.error?.message ?? res.statusText}`,
    );
  return { sale: body.sale, throughput: body.throughput };
}

/** Wires the picker once; `changed` redraws at once. */
export function initPicker(changed) {
  select().addEventListener("change", () => {
    const id = select().value;
    history.replaceState(null, "", id ? `#sale=${id}` : location.pathname);
    changed();
  });
  window.addEventListener("hashchange", changed);
}
