import type client from "prom-client";

// This process's HTTP traffic: flashsale_http_requests_total{method,route,status}
// and flashsale_http_request_duration_seconds{method,route}. prom-client hashes and
// validates the labels on every inc() and observe(), even through a labels() child;
// here each route, method and status has one series object found by one Map lookup,
// and the figures are handed to the registry only when it is scraped, in the same
// exposition prom-client's own Counter and Histogram write.

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30];
// Methods are the client's to invent: past this many series, unknown ones share one.
const MAX_SERIES = 10_000;

interface Series {
  method: string;
  route: string;
  status: string;
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative); the last is above every bound. */
  buckets: number[];
}

interface Value {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  value: number;
  metricName?: string;
}

export function createHttpMetrics(registry: client.Registry) {
  const series = new Map<string, Series>();

  const seriesOf = (method: string, route: string, status: number): Series => {
    const key = `${status} ${method} ${route}`;
    let s = series.get(key);
    if (s) return s;
    if (series.size >= MAX_SERIES && method !== "other") return seriesOf("other", route, status);
    s = { method, route, status: String(status), count: 0, sum: 0, buckets: BUCKETS.map(() => 0).concat(0) };
    series.set(key, s);
    return s;
  };

  const metric = (name: string, help: string, type: string, values: () => Value[]) => ({
    name,
    help,
    type,
    aggregator: "sum",
    collect: undefined,
    reset() {},
    getForPromString: async () => ({ name, help, type, aggregator: "sum", values: values() }),
    // The JSON form: shared labels folded into each value's own, as prom-client does.
    get: async () => ({
      name,
      help,
      type,
      aggregator: "sum",
      values: values().map(({ sharedLabels, ...v }) => ({ ...v, labels: { ...v.labels, ...sharedLabels } })),
    }),
  });

  const requests = metric(
    "flashsale_http_requests_total",
    "HTTP requests answered by this API process",
    "counter",
    () =>
      [...series.values()].map((s) => ({
        labels: { method: s.method, route: s.route, status: s.status },
        value: s.count,
      })),
  );

  const duration = metric(
    "flashsale_http_request_duration_seconds",
    "Time to answer an HTTP request in this API process",
    "histogram",
    () => {
      // The histogram has no status label: the series of one method and route add up.
      const byRoute = new Map<string, { labels: { method: string; route: string }; s: Series }>();
      for (const s of series.values()) {
        const key = `${s.method} ${s.route}`;
        const into = byRoute.get(key);
        if (!into) {
          byRoute.set(key, {
            labels: { method: s.method, route: s.route },
            s: { ...s, buckets: [...s.buckets] },
          });
          continue;
        }
        into.s.count += s.count;
        into.s.sum += s.sum;
        s.buckets.forEach((n, i) => {
          into.s.buckets[i] = (into.s.buckets[i] ?? 0) + n;
        });
      }
      const name = "flashsale_http_request_duration_seconds";
      const out: Value[] = [];
      for (const { labels, s } of byRoute.values()) {
        let acc = 0;
        BUCKETS.forEach((le, i) => {
          acc += s.buckets[i] ?? 0;
          out.push({ metricName: `${name}_bucket`, labels: { le }, sharedLabels: labels, value: acc });
        });
        out.push({
          metricName: `${name}_bucket`,
          labels: { le: "+Inf" },
          sharedLabels: labels,
          value: s.count,
        });
        out.push({ metricName: `${name}_sum`, labels: {}, sharedLabels: labels, value: s.sum });
        out.push({ metricName: `${name}_count`, labels: {}, sharedLabels: labels, value: s.count });
      }
      return out;
    },
  );

  registry.registerMetric(requests as unknown as client.Metric);
  registry.registerMetric(duration as unknown as client.Metric);

  return {
    /** One answered request: `seconds` from its start to its answer. */
    observe(method: string, route: string, status: number, seconds: number) {
      const s = seriesOf(method, route, status);
      s.count++;
      s.sum += seconds;
      let i = 0;
      while (i < BUCKETS.length && seconds > (BUCKETS[i] as number)) i++;
      s.buckets[i] = (s.buckets[i] ?? 0) + 1;
    },
  };
}
