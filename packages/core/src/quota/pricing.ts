import { z } from 'zod';
import { roundCost, type Usage } from '../events/usage.ts';

/** What a model's tokens cost, in US dollars per million tokens. */
export interface ModelPrice {
  readonly inputPerMillion: number;
  /** Input tokens read from the provider's prompt cache. Default: the input price. */
  readonly cachedInputPerMillion?: number | undefined;
  readonly outputPerMillion: number;
}

/**
 * Prices by model id. A dated snapshot (`gpt-4.1-mini-2025-04-14`) takes the price of the longest
 * id it starts with (`gpt-4.1-mini`).
 */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * OpenAI's list prices (standard tier, USD per million tokens) as published on
 * https://openai.com/api/pricing in August 2025. Prices change: pass your own table (or spread
 * this one and override) to `new Assistant({ prices })` for what you are billed.
 */
export const defaultOpenAIPrices: PriceTable = Object.freeze({
  'gpt-5': { inputPerMillion: 1.25, cachedInputPerMillion: 0.125, outputPerMillion: 10 },
  'gpt-5-mini': { inputPerMillion: 0.25, cachedInputPerMillion: 0.025, outputPerMillion: 2 },
  'gpt-5-nano': { inputPerMillion: 0.05, cachedInputPerMillion: 0.005, outputPerMillion: 0.4 },
  'gpt-4.1': { inputPerMillion: 2, cachedInputPerMillion: 0.5, outputPerMillion: 8 },
  'gpt-4.1-mini': { inputPerMillion: 0.4, cachedInputPerMillion: 0.1, outputPerMillion: 1.6 },
  'gpt-4.1-nano': { inputPerMillion: 0.1, cachedInputPerMillion: 0.025, outputPerMillion: 0.4 },
  'gpt-4o': { inputPerMillion: 2.5, cachedInputPerMillion: 1.25, outputPerMillion: 10 },
  'gpt-4o-mini': { inputPerMillion: 0.15, cachedInputPerMillion: 0.075, outputPerMillion: 0.6 },
  o3: { inputPerMillion: 2, cachedInputPerMillion: 0.5, outputPerMillion: 8 },
  'o4-mini': { inputPerMillion: 1.1, cachedInputPerMillion: 0.275, outputPerMillion: 4.4 },
});

const price = z.number().nonnegative().finite();

/** @internal */
export const priceTableSchema = z.record(
  z.string().min(1),
  z
    .object({ inputPerMillion: price, cachedInputPerMillion: price.optional(), outputPerMillion: price })
    .strict(),
);

/** The price of `modelId` in `table`: its own entry, or the longest id it starts with. */
export function priceFor(table: PriceTable, modelId: string): ModelPrice | undefined {
  const own = Object.hasOwn(table, modelId) ? table[modelId] : undefined;
  if (own !== undefined) return own;
  let best: string | undefined;
  for (const id of Object.keys(table))
    if (modelId.startsWith(`${id}-`) && (best === undefined || id.length > best.length)) best = id;
  return best === undefined ? undefined : table[best];
}

/** What `usage` cost at `price`, in US dollars (to a millionth). */
export function costOf(usage: Usage, price: ModelPrice): number {
  const cached = Math.min(usage.cached_input_tokens ?? 0, usage.input_tokens);
  const fresh = usage.input_tokens - cached;
  return roundCost(
    (fresh * price.inputPerMillion +
      cached * (price.cachedInputPerMillion ?? price.inputPerMillion) +
      usage.output_tokens * price.outputPerMillion) /
      1e6,
  );
}

/** @internal `usage` with its cost, when there is a price for it. */
export function withCost(usage: Usage, price: ModelPrice | undefined): Usage {
  return price === undefined ? usage : { ...usage, cost_usd: costOf(usage, price) };
}
