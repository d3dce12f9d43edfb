import { z } from 'zod';

/** Token counts as the provider reported them (snake_case: it travels in stream events). */
export interface Usage {
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly total_tokens: number;
}

export const usageSchema = z.object({
  input_tokens: z.number().int().nonnegative(),
  output_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
}) satisfies z.ZodType<Usage>;

/** A usage of zero, the start of a run's running total. */
export const emptyUsage: Usage = Object.freeze({ input_tokens: 0, output_tokens: 0, total_tokens: 0 });

/** Adds two usages. */
export function addUsage(a: Usage, b: Usage): Usage {
  return {
    input_tokens: a.input_tokens + b.input_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    total_tokens: a.total_tokens + b.total_tokens,
  };
}
