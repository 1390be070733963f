// Small helpers shared by the page's modules: element lookup, number formats,
// and rates from the cumulative counters of /admin/live's history.

/**
 * An API path as a URL of the page's origin. Chromium refuses to fetch a relative URL
 * on a page opened as http://user:pass@host/admin (the credentials would go along);
 * the origin has none, and the browser sends the credentials it was given anyway.
 */
export function apiUrl(path) {
  return new URL(path, location.origin);
}

/** The element marked data-field="name"; the page's markup is the one place that names them. */
export function field(name) {
  const el = document.querySelector(`[data-field="${name}"]`);
  if (!el) throw new Error(`the page has no data-field="${name}"`);
  return el;
}

/** Sets a field's text only when it changed, so screen readers and selection are not disturbed. */
export function setText(name, text) {
  const el = field(name);
  if (el.textContent !== text) el.textContent = text;
}

const whole = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });

export function fmtCount(n) {
  return typeof n === "number" && Number.isFinite(n) ? whole.format(n) : "–";
}

/** Rates below 10 keep a decimal: "0.4/s" says more than "0/s" during a trickle. */
export function fmtRate(n) {
  if (typeof n !== "number" || !Number.isFinite(n)) return "–";
  return n < 10 ? oneDecimal.format(n) : whole.format(n);
}

/** "1:02:03", "4:05", "0:09". */
export function fmtDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

export function fmtTime(iso) {
  return new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "UTC" });
}

/** Sum of a sample's refusals over every reason. */
export function refusedTotal(sample) {
  let n = 0;
  for (const v of Object.values(sample.refused ?? {})) n += v;
  return n;
}

/** The sample nearest to `spanMs` before the last one, and the last one. */
function span(history, spanMs) {
  const last = history.at(-1);
  if (!last) return null;
  let first = last;
  for (let i = history.length - 2; i >= 0; i--) {
    const s = history[i];
    if (last.t - s.t > spanMs) break;
    first = s;
  }
  return first === last ? null : { first, last, secs: (last.t - first.t) / 1000 };
}

/**
 * Per-second rate of a cumulative counter over the last `spanMs`. A counter that
 * went down (its store was reset) counts as no traffic rather than a negative rate.
 */
export function rateOf(history, pick, spanMs = 5000) {
  const s = span(history, spanMs);
  if (!s) return 0;
  return Math.max(0, pick(s.last) - pick(s.first)) / s.secs;
}

/** Per-second rates of each refusal reason over the last `spanMs`, highest first. */
export function refusedRates(history, spanMs = 5000) {
  const s = span(history, spanMs);
  if (!s) return [];
  const codes = new Set([...Object.keys(s.first.refused ?? {}), ...Object.keys(s.last.refused ?? {})]);
  return [...codes]
    .map((code) => {
      const d = (s.last.refused?.[code] ?? 0) - (s.first.refused?.[code] ?? 0);
      return { code, rate: Math.max(0, d) / s.secs };
    })
    .sort((a, b) => b.rate - a.rate || a.code.localeCompare(b.code));
}

/** Per-second points of a cumulative counter between consecutive samples; null breaks the line at a gap. */
export function perSecond(history, pick) {
  const points = [];
  for (let i = 1; i < history.length; i++) {
    const a = history[i - 1];
    const b = history[i];
    const secs = (b.t - a.t) / 1000;
    // A gap of several seconds (the API restarted, the tab slept) is not a rate.
    if (secs <= 0 || secs > 5) {
      points.push(null);
      continue;
    }
    points.push([b.t, Math.max(0, pick(b) - pick(a)) / secs]);
  }
  return points;
}

/** The value of a gauge at each sample. */
export function gauge(history, pick) {
  return history.map((s) => [s.t, pick(s)]);
}
