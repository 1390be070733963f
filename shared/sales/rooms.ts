import type { Deps } from "../deps.js";

/**
 * Lists a sale for the workers' room opener (worker/room-opener.ts), whatever its start:
 * whether a checkout lands in the fair-start room is decided by Redis's clock
 * (shared/lua/admit.lua), not this process's, so a sale starting "now" may still get a
 * room. The opener forgets a listed sale a few seconds after its start if it has none.
 * Called before the sale is published (created or reloaded after a lost Redis), so no
 * room ticket can exist for a sale the opener does not know.
 */
export async function listForRoomOpener(deps: Pick<Deps, "redis" | "keys">, saleId: string, startsAt: Date) {
  await deps.redis.zadd(deps.keys.rooms, startsAt.getTime(), saleId);
}
