import type { Config } from "../config.js";
import type { Deps } from "../deps.js";
import { type ActiveProfile, PROFILES, type ProfileName, parseActiveProfile } from "./profiles.js";
import type { PaymentSettings, PaymentSettingsPatch } from "./settings-shape.js";

// The payment simulator's settings and the slot count live in one Redis hash
// that every worker re-reads (see settings-watcher.ts), so a change made
// through the API reaches all of them within a second.

export function defaultSettings(cfg: Config): PaymentSettings {
  return {
    failure_rate: cfg.PAYMENT_FAILURE_RATE,
    hang_rate: cfg.PAYMENT_HANG_RATE,
    latency_ms: { min: cfg.PAYMENT_LATENCY_MIN_MS, max: cfg.PAYMENT_LATENCY_MAX_MS },
    timeout_ms: cfg.PAYMENT_TIMEOUT_MS,
    slots: cfg.PAYMENT_SLOTS,
  };
}

const toHash = (s: PaymentSettings) => ({
  failure_rate: String(s.failure_rate),
  hang_rate: String(s.hang_rate),
  latency_min: String(s.latency_ms.min),
  latency_max: String(s.latency_ms.max),
  timeout_ms: String(s.timeout_ms),
  slots: String(s.slots),
});

function fromHash(h: Record<string, string>, fallback: PaymentSettings): PaymentSettings {
  const n = (k: string, d: number) => (h[k] === undefined ? d : Number(h[k]));
  const base: PaymentSettings = {
    failure_rate: n("failure_rate", fallback.failure_rate),
    hang_rate: n("hang_rate", fallback.hang_rate),
    latency_ms: {
      min: n("latency_min", fallback.latency_ms.min),
      max: n("latency_max", fallback.latency_ms.max),
    },
    timeout_ms: n("timeout_ms", fallback.timeout_ms),
    slots: n("slots", fallback.slots),
  };
  // A fault profile in force overrides the settings underneath until it expires.
  const profile = parseActiveProfile(h.profile);
  return profile ? { ...base, ...PROFILES[profile.name] } : base;
}

/** Writes the configured defaults unless settings already exist (the first process to start wins). */
export async function initSettings(deps: Pick<Deps, "redis" | "keys" | "cfg">): Promise<void> {
  const { redis, keys, cfg } = deps;
  const pipe = redis.pipeline();
  for (const [k, v] of Object.entries(toHash(defaultSettings(cfg)))) pipe.hsetnx(keys.payments, k, v);
  await pipe.exec();
}

/** The fault profile in force, if any. */
export async function readProfile(deps: Pick<Deps, "redis" | "keys">): Promise<ActiveProfile | null> {
  return parseActiveProfile((await deps.redis.hget(deps.keys.payments, "profile")) ?? undefined);
}

/** Switches to a named profile for `durationS` seconds, or ends the one in force (`name` null). */
export async function setProfile(
  deps: Pick<Deps, "redis" | "keys">,
  name: ProfileName | null,
  durationS: number,
): Promise<ActiveProfile | null> {
  const { redis, keys } = deps;
  const profile = name ? { name, until: Date.now() + durationS * 1000 } : null;
  if (profile) await redis.hset(keys.payments, "profile", JSON.stringify(profile));
  else await redis.hdel(keys.payments, "profile");
  await resetPeak(deps);
  return profile;
}

async function resetPeak(deps: Pick<Deps, "redis" | "keys">) {
  const { redis, keys } = deps;
  await redis.zremrangebyscore(keys.inflight, "-inf", Date.now());
  await redis.set(keys.peak, await redis.zcard(keys.inflight));
}

export async function readSettings(deps: Pick<Deps, "redis" | "keys" | "cfg">): Promise<PaymentSettings> {
  return fromHash(await deps.redis.hgetall(deps.keys.payments), defaultSettings(deps.cfg));
}

/**
 * Applies a change and starts a new peak: `peak_in_flight` is the most payments
 * in flight at once since the settings last changed. A change made by hand ends
 * any fault profile in force, so what was just set is what runs.
 */
export async function updateSettings(
  deps: Pick<Deps, "redis" | "keys" | "cfg">,
  patch: PaymentSettingsPatch,
) {
  await deps.redis.hdel(deps.keys.payments, "profile");
  const current = await readSettings(deps);
  const next: PaymentSettings = {
    ...current,
    ...patch,
    latency_ms: patch.latency_ms ?? current.latency_ms,
  };
  if (next.latency_ms.min > next.latency_ms.max) {
    next.latency_ms = { min: next.latency_ms.min, max: next.latency_ms.min };
  }
  const { redis, keys } = deps;
  const now = Date.now();
  await redis.multi().hset(keys.payments, toHash(next)).zremrangebyscore(keys.inflight, "-inf", now).exec();
  await redis.set(keys.peak, await redis.zcard(keys.inflight));
  return next;
}

export async function paymentStats(deps: Pick<Deps, "redis" | "keys">) {
  const { redis, keys } = deps;
  const now = Date.now();
  const [, inflight, peak] = (await redis
    .multi()
    .zremrangebyscore(keys.inflight, "-inf", now)
    .zcard(keys.inflight)
    .get(keys.peak)
    .exec()) as [unknown, [null, number], [null, string | null]];
  return { in_flight: Number(inflight[1] ?? 0), peak_in_flight: Number(peak[1] ?? 0) };
}
