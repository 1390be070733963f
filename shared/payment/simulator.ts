import type { Deps } from "../deps.js";
import { defineBatchScript } from "../scripts/define.js";
import type { PaymentSettings } from "./settings-shape.js";

export type PaymentAnswer = "approved" | "declined" | "timeout";

// A payment provider stand-in: answers after a random latency, declines at
// `failure_rate`, and at `hang_rate` never answers at all, so the caller's timeout
// ends it. It counts its own payments in flight (count-in-flight.lua), apart
// from the semaphore, so the slot cap is checked by code that does not enforce it.

const countInFlight = defineBatchScript({
  name: "countInFlight",
  lua: new URL("./count-in-flight.lua", import.meta.url),
  helpers: ["now_ms"],
  keys: ["inflight", "peak"],
  args: [],
  each: { keys: [], args: ["id", "deadline"] },
  // How many payments are in flight, these included.
  decode: (raw) => Number(raw),
});

/** Counts payments in flight as they start, one call for those starting together. */
export async function paymentsStarted(
  deps: Pick<Deps, "redis" | "keys">,
  started: { id: string; deadline: number }[],
): Promise<void> {
  if (started.length === 0) return;
  const { redis, keys } = deps;
  // A payment counts as in flight until its deadline at most, so one whose worker
  // died stops counting before its slot's lease (which outlives the deadline) runs out.
  await countInFlight.run(
    redis,
    { inflight: keys.inflight, peak: keys.peak },
    {},
    started.map((p) => ({ keys: {}, args: { id: p.id, deadline: p.deadline } })),
  );
}

/**
 * The provider's answer, or 'timeout' once `timeout_ms` pass without one (a hang, or a
 * latency past it): one timer, whichever comes first.
 */
export function paymentAnswer(s: PaymentSettings): Promise<PaymentAnswer> {
  const hangs = Math.random() < s.hang_rate;
  const latency = s.latency_ms.min + Math.random() * (s.latency_ms.max - s.latency_ms.min);
  const timesOut = hangs || latency >= s.timeout_ms;
  return new Promise((resolve) =>
    setTimeout(
      () => resolve(timesOut ? "timeout" : Math.random() < s.failure_rate ? "declined" : "approved"),
      timesOut ? s.timeout_ms : latency,
    ),
  );
}

/** Stops counting payments in flight (the command is sent at once, before the caller frees their slots). */
export async function paymentsEnded(deps: Pick<Deps, "redis" | "keys">, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await deps.redis.zrem(deps.keys.inflight, ...ids);
}
