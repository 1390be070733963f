import { runProcess } from "../shared/process.js";
import { startScheduler } from "./start.js";

runProcess("scheduler", async (deps) => {
  const s = await startScheduler(deps);
  return () => s.close();
});
