import { z } from "zod";

// What the payment settings are, apart from where they are kept (settings.ts), so the
// named profiles (profiles.ts) can be checked against the same shape without a cycle.

export interface PaymentSettings {
  failure_rate: number;
  hang_rate: number;
  latency_ms: { min: number; max: number };
  timeout_ms: number;
  slots: number;
}

export const paymentSettingsPatch = z
  .object({
    failure_rate: z.number().min(0).max(1),
    hang_rate: z.number().min(0).max(1),
    latency_ms: z
      .object({ min: z.number().int().min(0).max(600_000), max: z.number().int().min(0).max(600_000) })
      .strict()
      .refine((l) => l.min <= l.max, { message: "min must not exceed max" }),
    timeout_ms: z.number().int().min(1).max(600_000),
    slots: z.number().int().min(1).max(100_000),
  })
  .partial()
  .strict();

export type PaymentSettingsPatch = z.infer<typeof paymentSettingsPatch>;
