import { connect } from "node:net";
import { sleep } from "../../shared/time.js";

/** host:port of a store's URL, with the protocol's default port. */
export function addressOf(url: string): { host: string; port: number } {
  const u = new URL(url);
  const port = Number(u.port) || (u.protocol.startsWith("redis") ? 6379 : 5432);
  // URL keeps IPv6 hosts in brackets; net.connect wants them bare.
  return { host: u.hostname.replace(/^\[|\]$/g, ""), port };
}

/** Whether anything accepts a TCP connection there within `ms`. */
export function answers(host: string, port: number, ms = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(ms, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Polls `ready` until it holds, `exited` says the server is gone, or `ms` pass. */
export async function waitUntil(
  what: string,
  ready: () => Promise<boolean>,
  exited: () => boolean,
  ms: number,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`${what} exited while starting`);
    if (await ready()) return;
    await sleep(100);
  }
  throw new Error(`${what} did not answer within ${ms / 1000} s`);
}
