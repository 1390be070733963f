import type { Queue } from "bullmq";
import type { Deps } from "../shared/deps.js";
import { lookForRooms } from "../shared/sale/open-rooms.js";

// Every worker looks for sales that just opened with a fair-start room
// (shared/sale/open-rooms.ts) every LOOK_MS: the room is queued within this of the
// opening, with no traffic needed to set it off.
const LOOK_MS = 200;

export function startRoomOpener(deps: Deps, queue: Queue) {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  const tick = () => {
    running = lookForRooms(deps, queue)
      .catch((err: unknown) => deps.log.warn({ err: String(err) }, "opening a fair-start room failed"))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, LOOK_MS);
      });
  };
  timer = setTimeout(tick, LOOK_MS);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
