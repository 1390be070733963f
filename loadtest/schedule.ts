// How users arrive. Either a fixed number of users at once (a closed crowd: a
// new user starts when one finishes), or a rate in users per second that ramps
// up linearly from zero, holds, and ramps down linearly to zero (an open crowd:
// users arrive on time whether or not the system keeps up).

export type Arrival =
  | { kind: "concurrency"; concurrency: number }
  | { kind: "rate"; rate: number; rampUpS: number; holdS: number; rampDownS: number };

/** How long a rate profile lasts, in seconds (a fixed concurrency has no end of its own). */
export function profileSeconds(a: Arrival): number {
  return a.kind === "rate" ? a.rampUpS + a.holdS + a.rampDownS : Number.POSITIVE_INFINITY;
}

/** Users per second at `t` seconds. */
export function rateAt(a: Extract<Arrival, { kind: "rate" }>, t: number): number {
  const { rate, rampUpS: up, holdS: hold, rampDownS: down } = a;
  if (t < 0) return 0;
  if (t < up) return (rate * t) / up;
  if (t < up + hold) return rate;
  const d = t - up - hold;
  if (d < down) return rate * (1 - d / down);
  return 0;
}

/** Users that should have arrived by `t` seconds: the integral of the rate from 0 to t. */
export function arrivalsBy(a: Extract<Arrival, { kind: "rate" }>, t: number): number {
  const { rate, rampUpS: up, holdS: hold, rampDownS: down } = a;
  if (t <= 0) return 0;
  if (t < up) return (rate * t * t) / (2 * up);
  const afterUp = (rate * up) / 2;
  if (t < up + hold) return afterUp + rate * (t - up);
  const afterHold = afterUp + rate * hold;
  const d = Math.min(t - up - hold, down);
  if (down === 0) return afterHold;
  return afterHold + rate * (d - (d * d) / (2 * down));
}

/**
 * Paces an open crowd: call `due(nowS)` on every tick; it says how many users
 * to start now so that starts follow the profile, never beyond `limit` in all.
 */
export function pacer(a: Extract<Arrival, { kind: "rate" }>, limit: number) {
  let started = 0;
  return {
    due(nowS: number): number {
      const target = Math.min(limit, Math.floor(arrivalsBy(a, nowS)));
      const n = Math.max(0, target - started);
      started += n;
      return n;
    },
    get started() {
      return started;
    },
  };
}
