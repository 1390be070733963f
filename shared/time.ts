export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const HOUR_MS = 3_600_000;

/** The start of the UTC hour that contains `at`. */
export function hourStart(at: number): number {
  return Math.floor(at / HOUR_MS) * HOUR_MS;
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
