import { describe, expect, it } from 'vitest';
import { Assistant } from '../assistant/assistant.ts';
import { collect } from '../assistant/test-helpers.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { costOf, defaultOpenAIPrices, priceFor } from './pricing.ts';

describe('prices', () => {
  it('charges cached input at its own price', () => {
    const price = { inputPerMillion: 2, cachedInputPerMillion: 0.5, outputPerMillion: 8 };
    const usage = {
      input_tokens: 1_000_000,
      cached_input_tokens: 400_000,
      output_tokens: 100_000,
      total_tokens: 1_100_000,
    };
    expect(costOf(usage, price)).toBe(0.6 * 2 + 0.4 * 0.5 + 0.1 * 8);
    expect(
      costOf({ ...usage, cached_input_tokens: undefined }, { inputPerMillion: 2, outputPerMillion: 8 }),
    ).toBe(2.8);
  });

  it('finds a dated snapshot’s price under its model’s id, the longest that matches', () => {
    expect(priceFor(defaultOpenAIPrices, 'gpt-4.1-mini-2025-04-14')).toBe(
      defaultOpenAIPrices['gpt-4.1-mini'],
    );
    expect(priceFor(defaultOpenAIPrices, 'gpt-4.1-2025-04-14')).toBe(defaultOpenAIPrices['gpt-4.1']);
    expect(priceFor(defaultOpenAIPrices, 'gpt-4.1')).toBe(defaultOpenAIPrices['gpt-4.1']);
    expect(priceFor(defaultOpenAIPrices, 'gpt-4.10')).toBeUndefined();
    expect(priceFor(defaultOpenAIPrices, 'claude-x')).toBeUndefined();
  });

  it('puts the cost on usage events, the final usage and the stored run', async () => {
    const storage = createInMemoryStorage();
    const assistant = new Assistant({
      model: createScriptedModel([
        { text: 'one', usage: { input_tokens: 1_000, output_tokens: 100, total_tokens: 1_100 } },
      ]),
      storage,
      prices: { scripted: { inputPerMillion: 1, outputPerMillion: 10 } },
    });
    const run = assistant.run({ input: 'hi', userId: 'ann' });
    const events = await collect(run);
    expect(events.find((event) => event.type === 'usage')).toMatchObject({
      cost_usd: 0.002,
      total: { cost_usd: 0.002 },
    });
    expect(events.at(-1)).toMatchObject({ type: 'final', usage: { cost_usd: 0.002 } });
    expect((await storage.getRun(run.id, { userId: 'ann' }))?.usage?.cost_usd).toBe(0.002);
  });

  it('leaves costs out for a model without a price, or with prices off', async () => {
    for (const prices of [undefined, false as const]) {
      const assistant = new Assistant({
        model: createScriptedModel([{ text: 'one' }]),
        ...(prices === undefined ? {} : { prices }),
      });
      const events = await collect(assistant.run({ input: 'hi', userId: 'ann' }));
      expect(events.find((event) => event.type === 'usage')).not.toHaveProperty('cost_usd');
    }
  });
});
