export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const HOUR_MS = 3_600_000;

/**
 * The start of the period of `periodMs` that contains `at`, counted from the Unix epoch,
 * so every process (and every restart) cuts time at the same instants.
 */
export function periodStart(at: number, periodMs: number): number {
  return Math.floor(at / periodMs) * periodMs;
}

/** The start of the UTC hour that contains `at`. */
export function hourStart(at: number): number {
  return periodStart(at, HOUR_MS);
}

export { HOUR_MS };

/** `p`, or a rejection naming `what` once `ms` pass first. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
