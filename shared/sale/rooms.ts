import type { Deps } from "../deps.js";
import { defineBatchScript, defineScript, type ScriptResult, str } from "../scripts/define.js";

type RoomDeps = Pick<Deps, "redis" | "keys">;

/**
 * Lists a sale for the workers' room opener (shared/sale/open-rooms.ts), whatever its start:
 * whether a checkout lands in the fair-start room is decided by Redis's clock
 * (shared/checkout/admit.lua), not this process's, so a sale starting "now" may still get a
 * room. The opener forgets a listed sale a few seconds after its start if it has none.
 * Called before the sale is published (created or reloaded after a lost Redis), so no
 * room ticket can exist for a sale the opener does not know.
 */
export async function listForRoomOpener(deps: RoomDeps, saleId: string, startsAt: Date) {
  await deps.redis.zadd(deps.keys.rooms, startsAt.getTime(), saleId);
}

const openRoom = defineScript({
  name: "openRoom",
  lua: new URL("./open-room.lua", import.meta.url),
  helpers: ["now_ms"],
  keys: ["sale", "saleMode", "room", "wayOut", "drawn"],
  args: ["events", "ticketPrefix", "linePrefix"],
  // 'shuffled' (with the room's size), 'done' (no room, or shuffled before), 'early'
  // (before the sale's start by Redis's clock) or 'changed' (the room is not the one drawn).
  decode: (raw) => {
    const outcome = str(raw, 0);
    return { outcome, tickets: outcome === "shuffled" ? Number(str(raw, 1)) : 0 };
  },
});

/**
 * Puts the room in line in the order drawn (open-room.lua): `drawn` is the room as read,
 * shuffled, already written to keys.roomDraw(saleId) (a big room is too many arguments
 * for one call), which the script deletes.
 */
export function placeRoom(deps: RoomDeps, saleId: string) {
  const { keys } = deps;
  return openRoom.run(
    deps.redis,
    {
      sale: keys.sale(saleId),
      saleMode: keys.saleMode(saleId),
      room: keys.room(saleId),
      wayOut: keys.roomOut(saleId),
      drawn: keys.roomDraw(saleId),
    },
    {
      events: keys.events(saleId),
      ticketPrefix: keys.ticketPrefix(saleId),
      linePrefix: keys.line(saleId, ""),
    },
  );
}

const entries = (raw: ScriptResult): string[] => (Array.isArray(raw) ? raw.map(String) : []);

const peekRoomScript = defineScript({
  name: "peekRoom",
  lua: new URL("./peek-room.lua", import.meta.url),
  keys: ["saleMode", "wayOut"],
  args: ["count"],
  // The first entries ("seq:item:user:key") on the way out, not removed; none once the room is done.
  decode: entries,
});

/** The next `count` tickets on the room's way out, in order, left there (peek-room.lua). */
export function peekRoom(deps: RoomDeps, saleId: string, count: number): Promise<string[]> {
  const { keys } = deps;
  return peekRoomScript.run(
    deps.redis,
    { saleMode: keys.saleMode(saleId), wayOut: keys.roomOut(saleId) },
    { count },
  );
}

const dropRoomScript = defineBatchScript({
  name: "dropRoom",
  lua: new URL("./drop-room.lua", import.meta.url),
  keys: ["wayOut"],
  args: [],
  each: { keys: [], args: ["entry"] },
  // How many left the way out: all of the batch, or none when the head was not the batch.
  decode: (raw) => ({ dropped: Number(raw) }),
});

/**
 * Takes a batch read by peekRoom off the way out once its jobs exist (drop-room.lua);
 * false when the head was not that batch (another opener took the room meanwhile).
 */
export async function dropRoom(deps: RoomDeps, saleId: string, batch: string[]): Promise<boolean> {
  const { dropped } = await dropRoomScript.run(
    deps.redis,
    { wayOut: deps.keys.roomOut(saleId) },
    {},
    batch.map((entry) => ({ keys: {}, args: { entry } })),
  );
  return dropped > 0;
}
