import { Assistant, createInMemoryStorage, type SlotLease } from '@steward/core';
import { createScriptedModel } from '@steward/core/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisRunStore } from './redis-run-store.ts';

const url = process.env.STEWARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `steward-test-slots-${process.pid}-${Date.now().toString(36)}`;
// Two instances, each with its own connection, on one clock the tests move.
let time = Date.now();
const clock = { now: () => time };
const stores = [
  createRedisRunStore({ url, prefix, _internal: clock }),
  createRedisRunStore({ url, prefix, _internal: clock }),
] as const;
const [a, b] = stores;
afterAll(async () => {
  for (const store of stores) await store.close();
  const admin = new Redis(url, { protocol: 2 });
  const keys = await admin.keys(`${prefix}:*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

let keys = 0;
const freshKey = () => `active-runs:user-${keys++}`;

describe('createRedisRunStore: counted slots across instances', () => {
  it('grants at most limit slots per key across two instances, and a released one to the next holder', async () => {
    const key = freshKey();
    const options = (owner: string) => ({ owner, limit: 2, ttlMs: 15_000 });
    const first = await a.acquireSlot(key, options('a:1'));
    expect(await b.acquireSlot(key, options('b:1'))).toBeDefined();
    expect(await a.acquireSlot(key, options('a:2'))).toBeUndefined();
    expect(await b.acquireSlot(key, options('b:2'))).toBeUndefined();
    // Another user has slots of their own.
    expect(await b.acquireSlot(freshKey(), options('b:2'))).toBeDefined();
    expect(await first?.release()).toBe(true);
    expect(await first?.release()).toBe(false);
    expect(await b.acquireSlot(key, options('b:2'))).toBeDefined();
  });

  it('counts an owner once, however often it asks', async () => {
    const key = freshKey();
    expect(await a.acquireSlot(key, { owner: 'a:1', limit: 1, ttlMs: 15_000 })).toBeDefined();
    expect(await a.acquireSlot(key, { owner: 'a:1', limit: 1, ttlMs: 15_000 })).toBeDefined();
    expect(await b.acquireSlot(key, { owner: 'b:1', limit: 1, ttlMs: 15_000 })).toBeUndefined();
  });

  it('frees the slot of an instance that stopped extending once its ttl passed, and keeps an extended one', async () => {
    const deadKey = freshKey();
    const liveKey = freshKey();
    const options = (owner: string) => ({ owner, limit: 1, ttlMs: 15_000 });
    const dead = (await a.acquireSlot(deadKey, options('a:dead'))) as SlotLease;
    const live = (await a.acquireSlot(liveKey, options('a:live'))) as SlotLease;
    time += 10_000;
    expect(await live.extend(15_000)).toBe(true);
    expect(await b.acquireSlot(deadKey, options('b:1'))).toBeUndefined();
    time += 5_000;
    expect(await b.acquireSlot(deadKey, options('b:1'))).toBeDefined();
    expect(await dead.extend(15_000)).toBe(false);
    expect(await dead.release()).toBe(false);
    expect(await b.acquireSlot(liveKey, options('b:1'))).toBeUndefined();
    time += 10_001;
    expect(await b.acquireSlot(liveKey, options('b:1'))).toBeDefined();
  });

  it('lets the key expire in Redis with its longest hold, so nothing is left behind', async () => {
    const key = freshKey();
    await a.acquireSlot(key, { owner: 'a:1', limit: 3, ttlMs: 5_000 });
    await a.acquireSlot(key, { owner: 'a:2', limit: 3, ttlMs: 20_000 });
    const admin = new Redis(url, { protocol: 2 });
    const ttl = await admin.pttl(`${prefix}:slots:${key}`);
    await admin.quit();
    expect(ttl).toBeGreaterThan(15_000);
    expect(ttl).toBeLessThanOrEqual(20_000);
  });
});

describe('maxActiveRuns over Redis', () => {
  it('caps a user’s active runs across two assistants sharing the Redis coordinator; another user is unaffected', async () => {
    let open: () => void = () => {};
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    const durable = createInMemoryStorage();
    const [first, second] = stores.map(
      (store) =>
        new Assistant({
          model: createScriptedModel(Array.from({ length: 10 }, () => ({ text: 'done', waitFor: opened }))),
          storage: durable,
          coordinator: store,
          maxActiveRuns: 2,
        }),
    ) as [Assistant, Assistant];
    const user = `ann-${prefix}`;
    const runs = [
      await first.start({ input: 'Hi', userId: user }),
      await second.start({ input: 'Hi', userId: user }),
    ];
    for (const instance of [first, second]) {
      await expect(instance.start({ input: 'Hi', userId: user })).rejects.toMatchObject({
        code: 'too_many_active_runs',
      });
    }
    runs.push(await second.start({ input: 'Hi', userId: `bob-${prefix}` }));
    open();
    await Promise.all(runs.map((run) => run.result));
    // Both slots freed when the runs ended, on either instance.
    const again = [
      await second.start({ input: 'Hi', userId: user }),
      await first.start({ input: 'Hi', userId: user }),
    ];
    await Promise.all(again.map((run) => run.result));
  });
});
