// Steward's own cost per token, without HTTP or JSON: a run over a model that yields 2,000 text
// deltas from memory, against reading the same deltas straight from the model.
import { Assistant, type LanguageModel, type ModelStreamPart } from '@steward/core';
import { median } from './stats.ts';

const tokens = 2_000;

const model: LanguageModel = {
  specificationVersion: 'v1',
  provider: 'memory',
  modelId: 'memory',
  async *doStream() {
    for (let index = 0; index < tokens; index++)
      yield { type: 'text-delta', text: ` w${index}` } as ModelStreamPart;
    yield { type: 'usage', usage: { input_tokens: 1, output_tokens: tokens, total_tokens: tokens + 1 } };
    yield { type: 'finish', reason: 'stop' };
  },
};

/** Microseconds per token: Steward's run loop and event stream vs a bare read of the model. */
export async function perTokenOverhead(iterations: number) {
  const assistant = new Assistant({ model });
  const direct = async () => {
    let text = '';
    for await (const part of model.doStream({
      messages: [],
      tools: [],
      signal: new AbortController().signal,
    })) {
      if (part.type === 'text-delta') text += part.text;
    }
    return text;
  };
  const steward = async () => {
    const run = assistant.run({ input: 'x', userId: 'bench' });
    let text = '';
    for await (const event of run) if (event.type === 'token') text += event.text;
    await run.result;
    return text;
  };
  const times = { direct: [] as number[], steward: [] as number[] };
  for (let index = 0; index < iterations + 20; index++) {
    for (const [name, work] of [
      ['direct', direct],
      ['steward', steward],
    ] as const) {
      const started = performance.now();
      await work();
      if (index >= 20) times[name].push(performance.now() - started);
    }
  }
  const perToken = (values: number[]) => Number(((median(values) * 1_000) / tokens).toFixed(3));
  return {
    tokens,
    model_only_us_per_token: perToken(times.direct),
    steward_us_per_token: perToken(times.steward),
    steward_overhead_us_per_token: Number((perToken(times.steward) - perToken(times.direct)).toFixed(3)),
  };
}
