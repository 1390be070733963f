// The live sale page: polls GET /admin/live once a second and redraws.
// Polling rather than server-sent events: every API process can answer it, it
// needs no long-lived connection through proxies, and a missed answer costs one
// second, not a reconnect.

import { drawChart, drawLegend } from "./chart.js";
import { initControls, renderControls } from "./controls.js";
import { renderTiles } from "./tiles.js";
import { fmtCount, fmtRate, gauge, perSecond, refusedTotal, setText } from "./util.js";

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
let lastOkAt = 0;

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

function render(live) {
  renderTiles(live);
  renderCharts(live);
  renderControls(live.payments);
}

function showError(text) {
  const banner = document.querySelector('[data-field="error"]');
  banner.hidden = !text;
  if (text && banner.textContent !== text) banner.textContent = text;
}

async function poll() {
  try {
    const res = await fetch("/admin/live", { cache: "no-store" });
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      throw new Error(`GET /admin/live answered ${res.status}: ${body?.error?.message ?? res.statusText}`);
    }
    lastLive = await res.json();
    lastOkAt = Date.now();
    render(lastLive);
    showError("");
  } catch (err) {
    showError(`${err.message}. Retrying every second; the figures below are from the last answer.`);
  }
  const age = lastOkAt ? Date.now() - lastOkAt : Number.POSITIVE_INFINITY;
  setText(
    "updated",
    !lastOkAt ? "no data yet" : age > STALE_MS ? `stale: ${Math.round(age / 1000)} s old` : "live",
  );
  setTimeout(poll, POLL_MS);
}

initControls();
document.getElementById("window").addEventListener("change", () => lastLive && renderCharts(lastLive));
// SVG is drawn in pixels, so a resize redraws at the new size.
window.addEventListener("resize", () => lastLive && renderCharts(lastLive));
poll();
