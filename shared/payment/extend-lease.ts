import type { Deps } from "../deps.js";
import { defineScript, str } from "../scripts/define.js";
import { LEASE_GRACE_MS } from "./slots.js";

const extendLeaseScript = defineScript({
  name: "extendLease",
  lua: new URL("./extend-lease.lua", import.meta.url),
  helpers: ["now_ms"],
  keys: ["slots"],
  args: ["timeoutMs", "holder", "leaseGraceMs"],
  decode: (raw) => ({ leased: str(raw, 0) === "leased", deadline: Number(str(raw, 1)) }),
});

/**
 * Stretches a slot's lease to cover a payment starting now (its deadline, ms on Redis's
 * clock, is returned), before the ticket starts paying; not leased when the lease ran
 * out first (the slot is gone).
 */
export function extendLease(
  deps: Pick<Deps, "redis" | "keys">,
  holder: string,
  timeoutMs: number,
): Promise<{ leased: boolean; deadline: number }> {
  return extendLeaseScript.run(
    deps.redis,
    { slots: deps.keys.slots },
    { timeoutMs, holder, leaseGraceMs: LEASE_GRACE_MS },
  );
}
