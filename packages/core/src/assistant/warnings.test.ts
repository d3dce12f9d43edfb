import { describe, expect, it } from 'vitest';
import { isStewardError, StewardError } from '../errors/steward-error.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { Assistant } from './assistant.ts';

describe('Assistant: onWarning', () => {
  it('tells onWarning what it tells the warning event, with the run id, and survives it throwing', async () => {
    const model = createScriptedModel([
      { error: new StewardError('model_unavailable', '503') },
      { text: 'ok' },
    ]);
    const told: StewardError[] = [];
    const heard: StewardError[] = [];
    const assistant = new Assistant({
      model,
      retry: { minTimeoutMs: 1, maxTimeoutMs: 2 },
      onWarning: (warning) => {
        told.push(warning);
        throw new Error('a broken logger');
      },
    });
    assistant.on('warning', (warning) => heard.push(warning));
    const run = assistant.run({ input: 'hi', userId: 'u' });
    expect((await run.result).text).toBe('ok');
    expect(told).toHaveLength(1);
    expect(isStewardError(told[0])).toBe(true);
    expect(told[0]?.message).toMatch(/model_unavailable, attempt 1/);
    expect(told[0]?.details.runId).toBe(run.id);
    // A throwing onWarning keeps the warning from nobody: the event still carries it.
    expect(heard).toEqual(told);
  });

  it('rejects an onWarning that is not a function', () => {
    expect(() => new Assistant({ model: createScriptedModel([]), onWarning: 'log' as never })).toThrow(
      /onWarning/,
    );
  });
});
