import { runProcess } from "../shared/process.js";
import { applyNice } from "../shared/process-priority.js";
import { startWorker } from "./start.js";

runProcess("worker", async (deps) => {
  // Before any work: where it shares a host with the API, a burst waits in the queue, not in the answers.
  applyNice(deps.cfg, deps.log);
  const w = await startWorker(deps);
  return () => w.close();
});
