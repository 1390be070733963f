import { runProcess } from "../shared/process.js";
import { startApi } from "./start.js";

runProcess(
  "api",
  async (deps) => {
    const api = await startApi(deps);
    return () => api.close();
  },
  // A checkout while Redis is away answers 503 unavailable at once, never hangs.
  { failFast: true },
);
