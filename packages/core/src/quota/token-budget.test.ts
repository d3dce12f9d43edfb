import { describe, expect, it } from 'vitest';
import { Assistant } from '../assistant/assistant.ts';
import { collect, manualClock } from '../assistant/test-helpers.ts';
import { isStewardError } from '../errors/steward-error.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { createInMemoryTokenBudget } from './in-memory-token-budget.ts';

const usage = (total: number) => ({ input_tokens: total - 5, output_tokens: 5, total_tokens: total });

describe('createInMemoryTokenBudget', () => {
  it('counts per UTC day and month, refuses once spent, and starts over at the reset', async () => {
    const clock = manualClock(Date.parse('2030-01-31T23:00:00.000Z'));
    const budget = createInMemoryTokenBudget({
      limits: { perDay: 100, perMonth: 150 },
      _internal: { now: clock.now },
    });
    expect(await budget.charge('ann', 60)).toMatchObject({
      allowed: true,
      remaining: 40,
      tightest: { period: 'day' },
    });
    expect(await budget.charge('ann', 40)).toEqual({
      allowed: false,
      period: 'day',
      limit: 100,
      used: 100,
      resetAt: '2030-02-01T00:00:00.000Z',
      retryAfterMs: 3_600_000,
    });
    expect(await budget.check('bob')).toMatchObject({ allowed: true, remaining: 100 });
    clock.advance(3_600_000); // A new day, and a new month: both start over.
    expect(await budget.check('ann')).toMatchObject({ allowed: true, remaining: 100 });
    await budget.charge('ann', 90);
    clock.advance(86_400_000); // Another day, the same month: 90 of 150 spent this month.
    expect(await budget.charge('ann', 60)).toMatchObject({
      allowed: false,
      period: 'month',
      resetAt: '2030-03-01T00:00:00.000Z',
    });
  });

  it('applies a user’s own limits over the defaults', async () => {
    const budget = createInMemoryTokenBudget({
      limits: { perDay: 10 },
      limitsFor: (userId) => (userId === 'vip' ? { perDay: 1_000 } : undefined),
    });
    expect(await budget.charge('vip', 500)).toMatchObject({ allowed: true, remaining: 500 });
    expect(await budget.charge('ann', 500)).toMatchObject({ allowed: false, limit: 10 });
  });

  it('rejects bad limits', () => {
    expect(() => createInMemoryTokenBudget({ limits: { perDay: 0 } })).toThrow(/perDay/);
  });
});

describe('Assistant with a token budget', () => {
  it('refuses a run of a user whose budget is spent, on another instance too, with the reset time', async () => {
    const budget = createInMemoryTokenBudget({ limits: { perDay: 40 } });
    const storage = createInMemoryStorage();
    const a = new Assistant({
      model: createScriptedModel([{ text: 'one', usage: usage(40) }]),
      storage,
      budget,
    });
    const b = new Assistant({ model: createScriptedModel([{ text: 'two' }]), storage, budget });
    expect((await a.run({ input: 'hi', userId: 'ann' }).result).stopReason).toBe('stop');
    const refused = await b.start({ input: 'again', userId: 'ann' }).catch((error: unknown) => error);
    expect(isStewardError(refused) && refused.code).toBe('quota_exceeded');
    expect(refused).toMatchObject({
      details: { period: 'day', limit: 40, used: 40, resetAt: expect.any(String) },
    });
    expect(isStewardError(refused) && refused.retryable).toBe(false);
    // Another user is unaffected.
    expect((await b.run({ input: 'hi', userId: 'bob' }).result).stopReason).toBe('stop');
  });

  it('ends a run that crosses its budget mid-stream, with its partial answer and quota_exceeded', async () => {
    const budget = createInMemoryTokenBudget({ limits: { perDay: 10 } });
    const long = Array.from({ length: 100 }, (_, index) => `word${index}`).join(' ');
    const assistant = new Assistant({ model: createScriptedModel([{ text: long }]), budget });
    const run = assistant.run({ input: 'Write a lot', userId: 'ann' });
    const events = await collect(run);
    const result = await run.result;
    expect(result).toMatchObject({ stopReason: 'error', partial: true });
    expect(result.error?.code).toBe('quota_exceeded');
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.text.length).toBeLessThan(long.length);
    expect(events.find((event) => event.type === 'error')).toMatchObject({ code: 'quota_exceeded' });
    expect(events.at(-1)).toMatchObject({ type: 'final', partial: true, text: result.text });
    // What it streamed was charged: the next run is refused at once.
    await expect.poll(async () => (await budget.check('ann')).allowed).toBe(false);
  });

  it('stops between steps once a step’s usage spends the budget', async () => {
    const budget = createInMemoryTokenBudget({ limits: { perDay: 50 } });
    const { tool } = await import('../assistant/test-helpers.ts').then((helpers) => helpers.weatherTool());
    const assistant = new Assistant({
      model: createScriptedModel([
        { toolCalls: [{ name: 'get_weather', args: { city: 'Paris' }, callId: 'c1' }], usage: usage(60) },
        { text: 'never asked' },
      ]),
      tools: [tool],
      budget,
    });
    const result = await assistant.run({ input: 'Weather?', userId: 'ann' }).result;
    expect(result.error?.code).toBe('quota_exceeded');
    expect(result.text).not.toContain('never asked');
  });
});
