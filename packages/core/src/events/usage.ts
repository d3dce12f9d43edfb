import { z } from 'zod';

/** Token counts as the provider reported them (snake_case: it travels in stream events). */
export interface Usage {
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly total_tokens: number;
  /** Of `input_tokens`, those the provider read from its prompt cache (billed at a lower price). */
  readonly cached_input_tokens?: number | undefined;
  /** What these tokens cost in US dollars, by the assistant's price table; absent for a model it has no price for. */
  readonly cost_usd?: number | undefined;
}

export const usageSchema = z.object({
  input_tokens: z.number().int().nonnegative(),
  output_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
  cached_input_tokens: z.number().int().nonnegative().optional(),
  cost_usd: z.number().nonnegative().optional(),
}) satisfies z.ZodType<Usage>;

/** A usage of zero, the start of a run's running total. */
export const emptyUsage: Usage = Object.freeze({ input_tokens: 0, output_tokens: 0, total_tokens: 0 });

/** Adds two usages. */
export function addUsage(a: Usage, b: Usage): Usage {
  const cached = sumOptional(a.cached_input_tokens, b.cached_input_tokens);
  const cost = sumOptional(a.cost_usd, b.cost_usd);
  return {
    input_tokens: a.input_tokens + b.input_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    total_tokens: a.total_tokens + b.total_tokens,
    ...(cached === undefined ? {} : { cached_input_tokens: cached }),
    ...(cost === undefined ? {} : { cost_usd: roundCost(cost) }),
  };
}

function sumOptional(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0);
}

/** @internal Costs are kept to a millionth of a dollar, so sums of steps do not drift. */
export function roundCost(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}
