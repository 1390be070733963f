import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";

/** A store `npm start` started, and so stops. */
export interface LocalServer {
  name: string;
  stop(): Promise<void>;
}

export interface ServerSpec {
  name: string;
  bin: string;
  args: string[];
  log: string;
  /** The signal that shuts it down cleanly (PostgreSQL: SIGINT, a fast shutdown). */
  stopSignal: NodeJS.Signals;
  /** Run as this user (PostgreSQL refuses to run as root). */
  user?: { uid: number; gid: number };
}

/**
 * Spawns a server in a process group of its own, so Ctrl-C in the terminal reaches the
 * roles but not the stores: the workers finish what they hold before the stores go.
 * Should this process end without stopping it, the server is told to stop anyway.
 */
export function spawnServer(spec: ServerSpec): {
  child: ChildProcess;
  exited: () => boolean;
  server: LocalServer;
} {
  const fd = openSync(spec.log, "a");
  const child = spawn(spec.bin, spec.args, {
    detached: true,
    stdio: ["ignore", fd, fd],
    ...(spec.user ?? {}),
  });
  closeSync(fd);
  let gone = false;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", () => {
      gone = true;
      resolve();
    });
    // A binary that cannot be run at all: treated as an exit, which the caller reports.
    child.once("error", () => {
      gone = true;
      resolve();
    });
  });
  const onExit = () => {
    if (!gone) child.kill(spec.stopSignal);
  };
  process.on("exit", onExit);
  const server: LocalServer = {
    name: spec.name,
    async stop() {
      process.off("exit", onExit);
      if (!gone) child.kill(spec.stopSignal);
      await exit;
    },
  };
  return { child, exited: () => gone, server };
}
