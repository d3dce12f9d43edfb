import {
  Assistant,
  createInMemoryStorage,
  defineTool,
  type InputResponse,
  isStewardError,
  type StewardEvent,
} from '@steward/core';
import { createScriptedModel } from '@steward/core/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRedisRunStore } from './redis-run-store.ts';
import { withRedisRunEvents } from './with-redis-run-events.ts';

const url = process.env.STEWARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `steward-test-coord-${process.pid}-${Date.now().toString(36)}`;
const stores = [createRedisRunStore({ url, prefix }), createRedisRunStore({ url, prefix })];
afterAll(async () => {
  for (const store of stores) await store.close();
  const admin = new Redis(url, { protocol: 2 });
  const keys = await admin.keys(`${prefix}:*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

/** Two "instances": their own Redis connections, one shared durable storage and Redis. */
function instances(replies: Parameters<typeof createScriptedModel>[0]) {
  const durable = createInMemoryStorage();
  return stores.map(
    (store, index) =>
      new Assistant({
        model: createScriptedModel(index === 0 ? replies : []),
        storage: withRedisRunEvents(durable, store),
        coordinator: store,
        rateLimit: { runs: 3, windowMs: 60_000 },
      }),
  ) as [Assistant, Assistant];
}

describe('createRedisRunStore as the Coordinator of many instances', () => {
  it('holds one active run per session across instances', async () => {
    const [a, b] = instances([{ text: 'a b c d e f', delayMs: 20 }, { text: 'later' }]);
    const first = await a.start({ input: 'Hi', userId: 'ann', sessionId: 'coord-s1' });
    const refused = await b
      .start({ input: 'Hi', userId: 'ann', sessionId: 'coord-s1' })
      .catch((error) => error);
    expect(isStewardError(refused, 'session_busy')).toBe(true);
    await first.result;
    // Released at the end: the next run in the session is admitted.
    await expect(a.start({ input: 'Again', userId: 'ann', sessionId: 'coord-s1' })).resolves.toBeDefined();
  });

  it('counts rate limits per user across instances', async () => {
    const [a, b] = instances([{ text: '1' }, { text: '2' }, { text: '3' }]);
    const user = `rate-${Date.now()}`;
    await a.start({ input: 'Hi', userId: user });
    await a.start({ input: 'Hi', userId: user });
    await a.start({ input: 'Hi', userId: user });
    await expect(b.start({ input: 'Hi', userId: user })).rejects.toMatchObject({ code: 'rate_limited' });
  });

  it('stops a run from another instance and streams it there live, each event once', async () => {
    const [a, b] = instances([{ text: 'one two three four five six seven eight nine ten', delayMs: 40 }]);
    const run = await a.start({ input: 'Count', userId: 'bob' });
    const seen: StewardEvent[] = [];
    for await (const event of b.streamRun(run.id, { userId: 'bob' })) {
      seen.push(event);
      if (event.type === 'token' && seen.filter((item) => item.type === 'token').length === 2) {
        await b.stop(run.id, { userId: 'bob' });
      }
    }
    expect(seen.map((event) => event.seq)).toEqual(seen.map((_, index) => index + 1));
    expect(seen.at(-1)).toMatchObject({ type: 'final', stop_reason: 'aborted', partial: true });
    expect((await run.result).stopReason).toBe('aborted');
    await expect(b.stop(run.id, { userId: 'mallory' })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('finds a stop whose message an instance missed, on its next heartbeat', async () => {
    const durable = createInMemoryStorage();
    const [storeA, storeB] = stores as [(typeof stores)[0], (typeof stores)[0]];
    // A never hears pub/sub (as while its subscriber reconnects): only the stored flag reaches it.
    const deaf = { ...storeA, watchStops: () => () => {} };
    const a = new Assistant({
      model: createScriptedModel([{ text: 'a b c d e f g h i j k l m n o p', delayMs: 40 }]),
      storage: withRedisRunEvents(durable, storeA),
      coordinator: deaf,
      limits: { heartbeatMs: 50 },
    });
    const b = new Assistant({
      model: createScriptedModel([]),
      storage: withRedisRunEvents(durable, storeB),
      coordinator: storeB,
    });
    const run = await a.start({ input: 'Go', userId: 'carol' });
    await b.stop(run.id, { userId: 'carol' });
    expect(await run.result).toMatchObject({ stopReason: 'aborted', partial: true });
  });

  it('ends a cross-instance stream when the run ended without its final reaching Redis', async () => {
    const durable = createInMemoryStorage();
    const [storeA, storeB] = stores as [(typeof stores)[0], (typeof stores)[0]];
    let appends = 0;
    const flaky = {
      ...storeA,
      appendEvents: async (runId: string, events: readonly StewardEvent[]) => {
        if (++appends === 2) throw new Error('Redis hiccup');
        return storeA.appendEvents(runId, events);
      },
    };
    const a = new Assistant({
      model: createScriptedModel([{ text: 'one two three four five six', delayMs: 20 }]),
      storage: withRedisRunEvents(durable, flaky),
      coordinator: storeA,
      limits: { heartbeatMs: 50 },
    });
    const b = new Assistant({
      model: createScriptedModel([]),
      storage: withRedisRunEvents(durable, storeB),
      coordinator: storeB,
      limits: { heartbeatMs: 50 },
    });
    const run = await a.start({ input: 'Go', userId: 'dave' });
    const started = Date.now();
    const seen: StewardEvent[] = [];
    for await (const event of b.streamRun(run.id, { userId: 'dave' })) seen.push(event);
    await run.result;
    // It ends (it used to wait forever), with what was stored, in order.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(seen.map((event) => event.seq)).toEqual(seen.map((_, index) => index + 1));
  });

  it('takes the answer to a tool’s request for input on another instance, and refuses a bad one there', async () => {
    const answers: InputResponse[] = [];
    const askFloor = defineTool({
      name: 'book_desk',
      description: 'Books a desk',
      input: z.object({}),
      execute: async (_args, context) => {
        const answer = await context.requestInput?.({
          mode: 'form',
          message: 'Which floor?',
          requestedSchema: {
            type: 'object',
            properties: {
              floor: { type: 'integer', minimum: 1, maximum: 9 },
              quiet: { type: 'boolean', default: true },
            },
            required: ['floor'],
          },
        });
        if (answer !== undefined) answers.push(answer);
        return answer;
      },
    });
    const durable = createInMemoryStorage();
    const [a, b] = stores.map(
      (store, index) =>
        new Assistant({
          model: createScriptedModel(
            index === 0 ? [{ toolCalls: [{ name: 'book_desk', arguments: {} }] }, { text: 'Booked.' }] : [],
          ),
          tools: [askFloor],
          storage: withRedisRunEvents(durable, store),
          coordinator: store,
        }),
    ) as [Assistant, Assistant];
    const run = await a.start({ input: 'Book a desk', userId: 'erin' });
    let requestId: string | undefined;
    for await (const event of b.streamRun(run.id, { userId: 'erin' })) {
      if (event.type !== 'input_required') continue;
      requestId = event.request_id;
      break;
    }
    const scope = { userId: 'erin' };
    await expect(
      b.respondToInput(run.id, requestId as string, { action: 'accept', content: { floor: 10 } }, scope),
    ).rejects.toMatchObject({ code: 'invalid_input' });
    await b.respondToInput(run.id, requestId as string, { action: 'accept', content: { floor: 6 } }, scope);
    expect(await run.result).toMatchObject({ stopReason: 'stop', text: 'Booked.' });
    expect(answers).toEqual([{ action: 'accept', content: { floor: 6, quiet: true } }]);
    await expect(
      b.respondToInput(run.id, requestId as string, { action: 'cancel' }, scope),
    ).rejects.toMatchObject({
      code: 'input_conflict',
    });
  });
});
