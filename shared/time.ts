export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const HOUR_MS = 3_600_000;

/** The start of the UTC hour that contains `at`. */
export function hourStart(at: number): number {
  return Math.floor(at / HOUR_MS) * HOUR_MS;
}

export { HOUR_MS };
