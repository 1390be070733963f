import { runProcess } from "../shared/process.js";
import { startWorker } from "./start.js";

runProcess("worker", async (deps) => {
  const w = await startWorker(deps);
  return () => w.close();
});
