import type { Stats } from "./stats.js";

// A live line while the crowd runs: on a terminal one line rewritten in place
// a few times a second; in a log (CI, a pipe) a plain line every few seconds.

const TTY_MS = 250;
const PLAIN_MS = 5000;

export interface ProgressOptions {
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Users in all, for the bar. */
  users: number;
  durationS: number;
}

/** One progress line: where the run is, and rates over the last interval. */
export function progressLine(
  s: Stats,
  prev: { at: number; answered: number; accepted: number; purchases: number },
  o: { users: number; durationS: number; width: number },
): string {
  const dt = Math.max(1, s.now() - prev.at) / 1000;
  const rate = (v: number) => Math.round(v / dt).toLocaleString("en-US");
  const done = Math.min(1, Math.max(s.users.done / o.users, s.now() / 1000 / o.durationS));
  const barWidth = 20;
  const filled = Math.round(done * barWidth);
  const bar = `[${"#".repeat(filled)}${".".repeat(barWidth - filled)}]`;
  const codes = Object.entries(s.checkout.byStatus)
    .map(([k, v]) => `${k}:${v}`)
    .join(" ");
  const line =
    `${bar} ${(s.now() / 1000).toFixed(1)}s users ${s.users.done}/${o.users} ` +
    `| ${rate(s.checkout.answered - prev.answered)} co/s ${rate(s.checkout.accepted - prev.accepted)} acc/s ` +
    `${rate(s.purchases - prev.purchases)} buy/s | bought ${s.purchases} | ${codes}`;
  return line.length > o.width ? `${line.slice(0, o.width - 1)}…` : line;
}

export function startProgress(stats: Stats, o: ProgressOptions): { stop(): void } {
  const tty = Boolean(o.out.isTTY);
  let prev = snapshot(stats);
  const timer = setInterval(
    () => {
      const width = tty ? (o.out.columns ?? 120) : 400;
      const line = progressLine(stats, prev, { users: o.users, durationS: o.durationS, width });
      prev = snapshot(stats);
      o.out.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
    },
    tty ? TTY_MS : PLAIN_MS,
  );
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      if (tty) o.out.write("\r\x1b[2K");
    },
  };
}

function snapshot(s: Stats) {
  return {
    at: s.now(),
    answered: s.checkout.answered,
    accepted: s.checkout.accepted,
    purchases: s.purchases,
  };
}
