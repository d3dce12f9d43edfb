import { Assistant, createInMemoryStorage, type StewardEvent } from '@steward/core';
import { createScriptedModel } from '@steward/core/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisRunStore } from './redis-run-store.ts';
import { withRedisRunEvents } from './with-redis-run-events.ts';

const url = process.env.STEWARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `steward-test-tier-${process.pid}-${Date.now().toString(36)}`;
const runStore = createRedisRunStore({ url, prefix });
afterAll(async () => {
  await runStore.close();
  const admin = new Redis(url, { protocol: 2 });
  const keys = await admin.keys(`${prefix}:*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

describe('withRedisRunEvents', () => {
  it('streams a run’s events through Redis to another instance, and keeps the durable copy', async () => {
    const durable = createInMemoryStorage();
    const assistant = new Assistant({
      model: createScriptedModel([{ text: 'one two three four five', delayMs: 5 }]),
      storage: withRedisRunEvents(durable, runStore),
    });
    const run = assistant.run({ input: 'count', userId: 'ann' });
    // "Another instance": a second store over the same Redis, tailing from the start.
    const elsewhere = createRedisRunStore({ url, prefix });
    const seen: StewardEvent[] = [];
    await new Promise((resolve) => setTimeout(resolve, 10));
    for await (const event of elsewhere.tail(run.id, { blockMs: 200 })) seen.push(event);
    await elsewhere.close();
    const local = [];
    for await (const event of run) local.push(event);
    expect(seen).toEqual(local);
    expect(seen.map((event) => event.seq)).toEqual(seen.map((_event, index) => index + 1));
    await run.result;
    expect(await durable.listEvents(run.id, { userId: 'ann' })).toEqual(local);
    expect(await assistant.getRunEvents(run.id, { userId: 'mallory' })).toEqual([]);
  });
});

describe('withRedisRunEvents after a crash between its two writes', () => {
  it('fills the durable copy from Redis before writing the next batch', async () => {
    const durable = createInMemoryStorage();
    const storage = withRedisRunEvents(durable, runStore);
    await durable.ensureSession('s', { userId: 'ann' });
    const now = new Date().toISOString();
    await durable.createRun({
      id: 'gap',
      sessionId: 's',
      userId: 'ann',
      status: 'running',
      createdAt: now,
      updatedAt: now,
    });
    const token = (seq: number): StewardEvent => ({
      type: 'token',
      text: `t${seq}`,
      run_id: 'gap',
      seq,
      timestamp: now,
    });
    await storage.appendEvents('gap', [token(1)]);
    await runStore.appendEvents('gap', [token(2)]); // Redis got it; the instance died before the durable write.
    await storage.appendEvents('gap', [token(3)]);
    expect((await durable.listEvents('gap', { userId: 'ann' })).map((event) => event.seq)).toEqual([1, 2, 3]);
  });
});
