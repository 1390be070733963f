// A small line chart drawn as SVG: time on x (the last minutes up to the server's
// "now"), values on y from zero. No library, so the page loads nothing else.

const SVG = "http://www.w3.org/2000/svg";
const PAD = { left: 44, right: 10, top: 10, bottom: 22 };

function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A round step (1, 2 or 5 × 10^n) giving about `count` gridlines up to `max`. */
function niceStep(max, count) {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

function label(v) {
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  return String(v);
}

/** Seconds between x labels, so a window shows about five of them. */
function xStep(windowS) {
  for (const s of [10, 30, 60, 120, 300]) if (windowS / s <= 6) return s;
  return 600;
}

/** The polyline path of points; null starts a new segment. */
function pathOf(points, x, y) {
  let d = "";
  let pen = "M";
  for (const p of points) {
    if (p === null) {
      pen = "M";
      continue;
    }
    d += `${pen}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`;
    pen = "L";
  }
  return d;
}

/**
 * Draws `series` ([{label, color, points: [[t, v] | null], dashed?}]) into `svg`
 * over the `windowS` seconds up to `now` (ms).
 */
export function drawChart(svg, { now, windowS, series }) {
  const width = svg.clientWidth || 600;
  const height = svg.clientHeight || 180;
  const from = now - windowS * 1000;
  const inWindow = series.map((s) => ({ ...s, points: s.points.filter((p) => p === null || p[0] >= from) }));
  let max = 0;
  for (const s of inWindow) for (const p of s.points) if (p && p[1] > max) max = p[1];
  const step = niceStep(Math.max(max, 1), 4);
  const top = Math.max(step, Math.ceil(max / step) * step);

  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const x = (t) => PAD.left + ((t - from) / (windowS * 1000)) * plotW;
  const y = (v) => PAD.top + plotH - (v / top) * plotH;

  const nodes = [];
  for (let v = 0; v <= top + step / 2; v += step) {
    nodes.push(el("line", { class: "grid", x1: PAD.left, x2: width - PAD.right, y1: y(v), y2: y(v) }));
    nodes.push(el("text", { x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end" }, label(v)));
  }
  const xs = xStep(windowS);
  for (let ago = 0; ago <= windowS; ago += xs) {
    const text = ago === 0 ? "now" : ago < 60 ? `−${ago}s` : `−${ago / 60}m`;
    const anchor = ago === 0 ? "end" : ago === windowS ? "start" : "middle";
    nodes.push(el("text", { x: x(now - ago * 1000), y: height - 6, "text-anchor": anchor }, text));
  }
  for (const s of inWindow) {
    const d = pathOf(s.points, x, y);
    if (!d) continue;
    const attrs = { d, fill: "none", stroke: s.color, "stroke-width": 2, "stroke-linejoin": "round" };
    if (s.dashed) attrs["stroke-dasharray"] = "5 4";
    nodes.push(el("path", attrs));
  }
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.replaceChildren(el("title", {}, svg.getAttribute("aria-label") ?? "chart"), ...nodes);
}

/** Fills a legend list with one entry per series, showing its latest value. */
export function drawLegend(list, series, format) {
  const items = series.map((s) => {
    const li = document.createElement("li");
    const swatch = document.createElement("i");
    swatch.style.background = s.color;
    const last = s.points.findLast((p) => p !== null);
    li.append(swatch, `${s.label} ${last ? format(last[1]) : "–"}`);
    return li;
  });
  list.replaceChildren(...items);
}
