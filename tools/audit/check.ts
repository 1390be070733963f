/** One invariant, counted: how many things were checked and what broke it. */
export interface Check {
  id: string;
  /** The promise, as the contract words it. */
  title: string;
  /** "info" lines report a figure and never fail the audit. */
  kind: "invariant" | "info";
  checked: number;
  /** What was checked, for the count: "items", "tickets", ... */
  unit: string;
  violations: string[];
}

export const invariant = (id: string, title: string, checked: number, unit: string, violations: string[]) =>
  ({ id, title, kind: "invariant", checked, unit, violations }) satisfies Check;

export const info = (id: string, title: string, checked: number, unit: string) =>
  ({ id, title, kind: "info", checked, unit, violations: [] }) satisfies Check;

export function countBy<T>(rows: T[], key: (r: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) out.set(key(r), (out.get(key(r)) ?? 0) + 1);
  return out;
}
