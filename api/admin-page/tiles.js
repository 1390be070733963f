// The tiles at the top of the page, filled from one /admin/live answer.

import {
  field,
  fmtCount,
  fmtDuration,
  fmtRate,
  fmtTime,
  rateOf,
  refusedRates,
  refusedTotal,
  setText,
} from "./util.js";

// Rates shown in the tiles average this long, so one bursty second does not flicker.
const RATE_SPAN_MS = 5000;

function setBar(name, share) {
  const value = Math.min(1, Math.max(0, share));
  const meter = field(name);
  if (meter.value !== value) meter.value = value;
}

function renderSale(live) {
  const { sale, now } = live;
  const badge = field("sale.status");
  if (!sale) {
    setText("sale.id", "");
    setText("sale.window", "No sale open");
    badge.dataset.state = "none";
    setText("sale.status", "no sale");
    setText("clock.label", "Sale clock");
    setText("clock.value", "–");
    setText("clock.detail", "waiting for the next sale");
    return;
  }
  const starts = Date.parse(sale.starts_at);
  const ends = Date.parse(sale.ends_at);
  setText("sale.id", `· sale ${sale.sale_id}`);
  setText(
    "sale.window",
    `${fmtTime(sale.starts_at)}–${fmtTime(sale.ends_at)} UTC · ${fmtCount(sale.item_count)} items · limit ${fmtCount(sale.user_limit)} per user`,
  );
  badge.dataset.state = sale.status;
  setText("sale.status", sale.status);
  if (now < starts) {
    setText("clock.label", "Opens in");
    setText("clock.value", fmtDuration(starts - now));
    setText("clock.detail", `runs ${fmtDuration(ends - starts)}`);
  } else if (now < ends && sale.status !== "closed") {
    setText("clock.label", "Time left");
    setText("clock.value", fmtDuration(ends - now));
    setText("clock.detail", `open for ${fmtDuration(now - starts)}`);
  } else {
    setText("clock.label", "Sale clock");
    setText("clock.value", "ended");
    setText("clock.detail", `closed ${fmtDuration(now - ends)} ago`);
  }
}

function renderStock(stock) {
  setText("stock.sold", fmtCount(stock?.sold));
  setText("stock.total", fmtCount(stock?.total));
  setText("stock.available", fmtCount(stock?.available));
  setText("stock.reserved", fmtCount(stock?.reserved));
  setBar("stock.bar", stock && stock.total > 0 ? stock.sold / stock.total : 0);
}

function renderCheckouts(history) {
  setText("rate.accepted", fmtRate(rateOf(history, (s) => s.accepted, RATE_SPAN_MS)));
  const rows = [["refused", fmtRate(rateOf(history, refusedTotal, RATE_SPAN_MS)), ""]];
  // Every reason seen in the window, even at zero now, so the list does not jump around.
  for (const { code, rate } of refusedRates(history, RATE_SPAN_MS)) {
    rows.push([code.replaceAll("_", " "), fmtRate(rate), "sub"]);
  }
  const dl = field("rate.refused");
  const text = rows.map((r) => r.join(" ")).join("\n");
  if (dl.dataset.text === text) return;
  dl.dataset.text = text;
  dl.replaceChildren(
    ...rows.flatMap(([label, value, cls]) => {
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = label;
      if (cls) dt.className = cls;
      dd.textContent = value;
      return [dt, dd];
    }),
  );
}

function renderLoad(live) {
  const { queue, slots } = live;
  setText("queue.waiting", fmtCount(queue?.waiting));
  setText("queue.active", fmtCount(queue?.active));
  setText("queue.delayed", fmtCount(queue?.delayed));
  // Held is the semaphore's count; in flight is the simulator's own, shown beside it.
  const inUse = slots?.held ?? slots?.in_flight ?? 0;
  const cap = slots?.slots ?? 0;
  setText("slots.in_use", fmtCount(inUse));
  setText("slots.cap", fmtCount(cap));
  setText("slots.in_flight", fmtCount(slots?.in_flight));
  setText("slots.peak", fmtCount(slots?.peak_in_flight));
  setBar("slots.bar", cap > 0 ? inUse / cap : 0);
}

function renderOutcomes(live) {
  const t = live.totals?.tickets ?? {};
  setText("out.purchased", fmtCount(t.purchased ?? 0));
  setText("out.declined", fmtCount(t["failed:payment_declined"] ?? 0));
  setText("out.timed_out", fmtCount(t["failed:payment_timeout"] ?? 0));
  // Per-second outcomes are on the chart; here the share that went through, over all payments.
  const p = live.totals?.payments ?? {};
  const paid = (p.approved ?? 0) + (p.declined ?? 0) + (p.timeout ?? 0);
  setText(
    "out.rate",
    paid ? `${Math.round(((p.approved ?? 0) / paid) * 100)}% of payments approved` : "no payments yet",
  );
}

export function renderTiles(live) {
  renderSale(live);
  renderStock(live.sale?.stock);
  renderCheckouts(live.history ?? []);
  renderLoad(live);
  renderOutcomes(live);
}
