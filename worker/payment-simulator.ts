import type { Deps } from "../shared/deps.js";
import type { PaymentSettings } from "../shared/payments/settings.js";

export type PaymentAnswer = "approved" | "declined";

export class PaymentAborted extends Error {}

/**
 * A payment provider stand-in: answers after a random latency, declines at
 * `failure_rate`, and at `hang_rate` never answers at all; only the caller's
 * signal (its timeout) ends a hang. It counts its own payments in flight
 * (shared/lua/payment-start.lua), apart from the semaphore, so the slot cap is
 * checked by code that does not enforce it.
 */
export async function simulatePayment(
  deps: Deps,
  paymentId: string,
  s: PaymentSettings,
  signal: AbortSignal,
): Promise<PaymentAnswer> {
  const { redis, keys } = deps;
  // A payment counts as in flight until its timeout at most, so one whose worker
  // died stops counting before its slot's lease runs out.
  await redis.run("paymentStart", [keys.inflight, keys.peak], [paymentId, s.timeout_ms]);
  try {
    const hangs = Math.random() < s.hang_rate;
    const latency = s.latency_ms.min + Math.random() * (s.latency_ms.max - s.latency_ms.min);
    await new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(new PaymentAborted());
      const timer = hangs ? null : setTimeout(resolve, latency);
      signal.addEventListener(
        "abort",
        () => {
          if (timer) clearTimeout(timer);
          reject(new PaymentAborted());
        },
        { once: true },
      );
    });
    return Math.random() < s.failure_rate ? "declined" : "approved";
  } finally {
    await redis.zrem(keys.inflight, paymentId);
  }
}
