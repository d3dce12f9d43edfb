import { Assistant, createInMemoryStorage, isStewardError } from '@steward/core';
import { createScriptedModel } from '@steward/core/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisTokenBudget } from './redis-token-budget.ts';

const url = process.env.STEWARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `steward-test-budget-${process.pid}-${Date.now().toString(36)}`;
const limits = { perDay: 100, perMonth: 1_000 };
// Two instances, each with its own connection to the same Redis.
const budgets = [
  createRedisTokenBudget({ url, prefix, limits }),
  createRedisTokenBudget({ url, prefix, limits }),
] as const;
const [a, b] = budgets;
let users = 0;
const freshUser = () => `user-${users++}`;

afterAll(async () => {
  for (const budget of budgets) await budget.close();
  const admin = new Redis(url, { protocol: 2 });
  const keys = await admin.keys(`${prefix}:*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

describe('createRedisTokenBudget across instances', () => {
  it('loses no count when two instances charge one user at once', async () => {
    const user = freshUser();
    await Promise.all(Array.from({ length: 40 }, (_, index) => (index % 2 === 0 ? a : b).charge(user, 2)));
    expect(await a.check(user)).toMatchObject({ allowed: true, remaining: 20 });
    const spent = await b.charge(user, 20);
    expect(spent).toMatchObject({ allowed: false, period: 'day', limit: 100, used: 100 });
    const tomorrow = new Date();
    tomorrow.setUTCHours(24, 0, 0, 0);
    expect(spent.allowed === false && spent.resetAt).toBe(tomorrow.toISOString());
    // The counters expire on their own, a day after their period.
    const admin = new Redis(url, { protocol: 2 });
    const keys = await admin.keys(`${prefix}:budget:${user}:*`);
    expect(keys.sort()).toEqual([expect.stringContaining(':day:'), expect.stringContaining(':month:')]);
    for (const key of keys) expect(await admin.pttl(key)).toBeGreaterThan(86_400_000);
    await admin.quit();
  });

  it('refuses on B the user whose runs on A spent the budget, and cuts B’s run that crosses it mid-stream', async () => {
    const user = freshUser();
    const storage = createInMemoryStorage();
    const usage = { input_tokens: 80, output_tokens: 10, total_tokens: 90 };
    const long = Array.from({ length: 200 }, (_, index) => `word${index}`).join(' ');
    const onA = new Assistant({ model: createScriptedModel([{ text: 'short', usage }]), storage, budget: a });
    const onB = new Assistant({ model: createScriptedModel([{ text: long }]), storage, budget: b });

    expect((await onA.run({ input: 'hi', userId: user }).result).stopReason).toBe('stop');
    // 10 tokens left: B's run starts, and ends as its stream crosses them.
    const cut = await onB.run({ input: 'a long answer', userId: user }).result;
    expect(cut).toMatchObject({ stopReason: 'error', partial: true });
    expect(cut.error?.code).toBe('quota_exceeded');
    expect(cut.text.length).toBeGreaterThan(0);
    expect(cut.text.length).toBeLessThan(long.length);

    await expect.poll(async () => (await a.check(user)).allowed).toBe(false);
    const refused = await onA.start({ input: 'again', userId: user }).catch((error: unknown) => error);
    expect(isStewardError(refused) && refused.code).toBe('quota_exceeded');
    expect(refused).toMatchObject({ details: { period: 'day', limit: 100, resetAt: expect.any(String) } });
    // Another user is unaffected.
    const other = new Assistant({ model: createScriptedModel([{ text: 'fine' }]), storage, budget: b });
    expect((await other.run({ input: 'hi', userId: freshUser() }).result).error).toBeUndefined();
  });

  it('needs exactly one of redis or url', () => {
    expect(() => createRedisTokenBudget({ limits })).toThrow(/redis or url/);
  });
});
