// The live sale page: polls GET /admin/live once a second and redraws.
// Polling rather than server-sent events: every API process can answer it, it
// needs no long-lived connection through proxies, and a missed answer costs one
// second, not a reconnect.

import { refreshAdminLog } from "./admin-log.js";
import { drawChart, drawLegend } from "./chart.js";
import { initControls, renderControls } from "./controls.js";
import { initPicker, readPicked } from "./picker.js";
import { renderTiles } from "./tiles.js";
import { apiUrl, fmtCount, fmtRate, gauge, perSecond, refusedTotal, setText } from "./util.js";

const POLL_MS = 1000;
// Past this, the figures on screen are stale enough to say so.
const STALE_MS = 5000;

const COLORS = {
  accepted: "#1d4ed8",
  purchased: "#15803d",
  refused: "#64748b",
  declined: "#b91c1c",
  timedOut: "#b45309",
  queue: "#6d28d9",
  slots: "#0e7490",
  cap: "#94a3b8",
};

let lastLive = null;
let lastPicked = null;
let lastOkAt = 0;
let timer = 0;
// Each poll's number: a poll started since (a sale picked) makes an older one's answer stale.
let generation = 0;

function windowS() {
  return Number(document.getElementById("window").value);
}

function renderCharts(live) {
  const h = live.history ?? [];
  const flow = [
    { label: "accepted", color: COLORS.accepted, points: perSecond(h, (s) => s.accepted) },
    { label: "refused", color: COLORS.refused, points: perSecond(h, refusedTotal) },
    { label: "purchased", color: COLORS.purchased, points: perSecond(h, (s) => s.purchased) },
    { label: "declined", color: COLORS.declined, points: perSecond(h, (s) => s.declined) },
    { label: "timed out", color: COLORS.timedOut, points: perSecond(h, (s) => s.timed_out) },
  ];
  const cap = live.slots?.slots ?? 0;
  const load = [
    { label: "queue", color: COLORS.queue, points: gauge(h, (s) => s.queue) },
    { label: "slots in use", color: COLORS.slots, points: gauge(h, (s) => s.slots_in_use) },
    // The cap as it is now, across the window: a flat reference line.
    {
      label: "slot cap",
      color: COLORS.cap,
      dashed: true,
      points: h.length
        ? [
            [live.now - windowS() * 1000, cap],
            [live.now, cap],
          ]
        : [],
    },
  ];
  const opts = { now: live.now, windowS: windowS() };
  drawChart(document.querySelector('[data-field="chart.flow"]'), { ...opts, series: flow });
  drawChart(document.querySelector('[data-field="chart.load"]'), { ...opts, series: load });
  drawLegend(document.querySelector('[data-field="legend.flow"]'), flow, (v) => `${fmtRate(v)}/s`);
  drawLegend(document.querySelector('[data-field="legend.load"]'), load, fmtCount);
}

function render(live, picked) {
  // A picked sale's tiles come from /stats; the rest is every sale's.
  renderTiles(picked ? { ...live, sale: picked.sale } : live);
  renderCharts(live);
  renderControls(live.payments);
}

async function readLive() {
  const res = await fetch(apiUrl("/admin/live"), { cache: "no-store" });
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    throw new Error(`GET /admin/live answered ${res.status}: ${body?.error?.message ?? res.statusText}`);
  }
  return res.json();
}

function showError(text) {
  const banner = document.querySelector('[data-field="error"]');
  banner.hidden = !text;
  if (text && banner.textContent !== text) banner.textContent = text;
}

async function poll() {
  clearTimeout(timer);
  const mine = ++generation;
  const [live, picked, log] = await Promise.allSettled([readLive(), readPicked(), refreshAdminLog()]);
  if (mine !== generation) return;
  const failed = [live, picked, log].find((r) => r.status === "rejected");
  if (live.status === "fulfilled" && picked.status === "fulfilled") {
    lastLive = live.value;
    lastPicked = picked.value;
    lastOkAt = Date.now();
    render(lastLive, lastPicked);
  }
  showError(
    failed
      ? `${failed.reason.message}. Retrying every second; the figures below are from the last answer.`
      : "",
  );
  const age = lastOkAt ? Date.now() - lastOkAt : Number.POSITIVE_INFINITY;
  setText(
    "updated",
    !lastOkAt ? "no data yet" : age > STALE_MS ? `stale: ${Math.round(age / 1000)} s old` : "live",
  );
  timer = setTimeout(poll, POLL_MS);
}

initControls();
// Another sale picked: its figures at once, not at the next poll.
initPicker(() => poll());
document.getElementById("window").addEventListener("change", () => lastLive && renderCharts(lastLive));
// SVG is drawn in pixels, so a resize redraws at the new size.
window.addEventListener("resize", () => lastLive && renderCharts(lastLive));
poll();
