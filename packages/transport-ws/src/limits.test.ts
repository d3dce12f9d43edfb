import { Assistant, createInMemoryStorage } from '@steward/core';
import { createScriptedModel } from '@steward/core/testing';
import { createRedisRunStore, withRedisRunEvents } from '@steward/storage-redis';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createStewardApi } from './api.ts';
import { createJwtAuth } from './auth.ts';
import { startStewardServer } from './server.ts';
import { gatedSteps, secret, testServers, userToken } from './test-helpers.ts';

const { server, cleanups } = testServers();

interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly code: string | undefined;
  readonly runId: string | undefined;
}

async function respond(url: string, token: string, body: unknown = { input: 'Hi' }): Promise<Answer> {
  const response = await fetch(`${url}/api/v1/respond`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as { run_id?: string; error?: { code: string } };
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    code: json.error?.code,
    runId: json.run_id,
  };
}

/** `count` respond calls at once from one user; each answer. */
async function burst(url: string, userId: string, count: number): Promise<Answer[]> {
  const token = await userToken(userId);
  return Promise.all(Array.from({ length: count }, () => respond(url, token)));
}

/** Reads each admitted run to `final`: the run ended and gave its place back. */
async function ended(assistant: Assistant, userId: string, answers: readonly Answer[]): Promise<void> {
  for (const { runId } of answers) {
    if (runId === undefined) continue;
    for await (const _event of assistant.streamRun(runId, { userId })) {
      // Until final.
    }
  }
}

const tally = (answers: readonly Answer[]) => {
  const counts: Record<string, number> = {};
  for (const answer of answers) {
    const key = answer.status === 202 ? '202' : `${answer.status} ${answer.code}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
};

describe('safe defaults: a rate limit and a cap on active runs', () => {
  it('refuses 270 of 300 respond calls in one second (30 runs a minute by default) with 429 rate_limited and Retry-After; another user is unaffected', async () => {
    const { url } = await server(
      Array.from({ length: 40 }, () => ({ text: 'done' })),
      {
        limits: { exclusiveSessions: false },
        api: { maxActiveRuns: false },
      },
    );
    const started = Date.now();
    const answers = await burst(url, 'mallory', 300);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(tally(answers)).toEqual({ '202': 30, '429 rate_limited': 270 });
    for (const answer of answers.filter((item) => item.status === 429)) {
      expect(Number(answer.retryAfter)).toBeGreaterThan(0);
      expect(Number(answer.retryAfter)).toBeLessThanOrEqual(60);
    }
    expect((await respond(url, await userToken('ann'))).status).toBe(202);
  });

  it('admits 5 of 200 concurrent slow runs by default, refuses the rest with 429 too_many_active_runs and Retry-After, and frees the places when the runs end', async () => {
    const first = gatedSteps(6);
    const second = gatedSteps(6);
    const { url, assistant } = await server([...first.steps, ...second.steps], {
      api: { rateLimit: false },
    });
    const answers = await burst(url, 'mallory', 200);
    expect(tally(answers)).toEqual({ '202': 5, '429 too_many_active_runs': 195 });
    for (const answer of answers.filter((item) => item.status === 429)) expect(answer.retryAfter).toBe('5');
    // Another user has places of their own.
    const ann = await respond(url, await userToken('ann'));
    expect(ann.status).toBe(202);
    first.open();
    await ended(assistant, 'mallory', answers);
    await ended(assistant, 'ann', [ann]);
    const again = await burst(url, 'mallory', 6);
    expect(tally(again)).toEqual({ '202': 5, '429 too_many_active_runs': 1 });
    second.open();
    await ended(assistant, 'mallory', again);
  });

  it('meets the whole attack with both defaults: 5 runs admitted of 300, the rest refused with 429', async () => {
    const { steps, open } = gatedSteps(10);
    const { url, assistant } = await server(steps);
    const answers = await burst(url, 'mallory', 300);
    expect(tally(answers)).toEqual({
      '202': 5,
      '429 too_many_active_runs': 25,
      '429 rate_limited': 270,
    });
    open();
    await ended(assistant, 'mallory', answers);
  });

  it('takes other numbers, and false turns each limit off', async () => {
    const { steps, open } = gatedSteps(60);
    const { url, assistant } = await server(steps, {
      limits: { exclusiveSessions: false },
      api: { rateLimit: false, maxActiveRuns: false },
    });
    const unlimited = await burst(url, 'ann', 40);
    expect(tally(unlimited)).toEqual({ '202': 40 });
    const strict = await server(steps, {
      api: { rateLimit: { runs: 2, windowMs: 1_000 }, maxActiveRuns: 1 },
    });
    const answers = await burst(strict.url, 'ann', 2);
    expect(tally(answers)).toEqual({ '202': 1, '429 too_many_active_runs': 1 });
    const limited = await respond(strict.url, await userToken('ann'));
    expect(limited).toMatchObject({ status: 429, code: 'rate_limited', retryAfter: '1' });
    open();
    await ended(assistant, 'ann', unlimited);
    await ended(strict.assistant, 'ann', answers);
  });

  it('refuses limits that are not positive whole numbers with invalid_options', () => {
    const assistant = new Assistant({ model: createScriptedModel([]) });
    const auth = createJwtAuth({ secret });
    expect(() => createStewardApi({ assistant, auth, maxActiveRuns: 0 })).toThrow(
      expect.objectContaining({ code: 'invalid_options', message: expect.stringMatching(/maxActiveRuns/) }),
    );
    expect(() => createStewardApi({ assistant, auth, rateLimit: { runs: 1.5, windowMs: 1_000 } })).toThrow(
      expect.objectContaining({ code: 'invalid_options', message: expect.stringMatching(/rateLimit/) }),
    );
  });
});

describe('limits across instances (Redis coordinator)', () => {
  const redisUrl = process.env.STEWARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `steward-test-limits-${process.pid}-${Date.now().toString(36)}`;
  const stores = [
    createRedisRunStore({ url: redisUrl, prefix }),
    createRedisRunStore({ url: redisUrl, prefix }),
  ];
  afterAll(async () => {
    for (const store of stores) await store.close();
    const admin = new Redis(redisUrl, { protocol: 2 });
    const keys = await admin.keys(`${prefix}:*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  });

  it('holds the rate limit and the active-run cap across two servers', async () => {
    const durable = createInMemoryStorage();
    const { steps, open } = gatedSteps(20);
    const [a, b] = (await Promise.all(
      stores.map(async (store) => {
        const assistant = new Assistant({
          model: createScriptedModel(steps),
          storage: withRedisRunEvents(durable, store),
          coordinator: store,
        });
        const started = await startStewardServer({
          assistant,
          auth: createJwtAuth({ secret }),
          rateLimit: { runs: 3, windowMs: 60_000 },
          maxActiveRuns: 2,
        });
        cleanups.push(() => started.close());
        return { url: started.url, assistant };
      }),
    )) as [{ url: string; assistant: Assistant }, { url: string; assistant: Assistant }];
    const token = await userToken('mallory');
    const admitted = [await respond(a.url, token), await respond(b.url, token)];
    expect(admitted.map((answer) => answer.status)).toEqual([202, 202]);
    expect(await respond(b.url, token)).toMatchObject({ status: 429, code: 'too_many_active_runs' });
    expect(await respond(a.url, token)).toMatchObject({ status: 429, code: 'rate_limited' });
    const ann = await respond(b.url, await userToken('ann'));
    expect(ann.status).toBe(202);
    open();
    await ended(a.assistant, 'mallory', admitted);
    await ended(b.assistant, 'ann', [ann]);
  });
});
