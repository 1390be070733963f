import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { HonoAdapter } from "@bull-board/hono";
import { serveStatic } from "@hono/node-server/serve-static";
import type { Queue } from "bullmq";

export const QUEUES_PATH = "/admin/queues";

/**
 * The queue dashboard (bull-board) for every queue of the system. Its pages and
 * assets come from the installed @bull-board/ui package: no network needed.
 * Mounted under /admin, so the admin auth covers it.
 */
export function adminQueueRoutes(queues: Queue[]) {
  const adapter = new HonoAdapter(serveStatic).setBasePath(QUEUES_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: false })),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: "Flash sale" } },
  });
  return adapter.registerPlugin();
}
