import { createInMemoryStorage, type StewardEvent } from '@steward/core';
import { type FaultProxy, startFaultProxy } from '@steward/testing/fault-proxy';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisRunStore, type RedisRunStore } from './redis-run-store.ts';
import { withRedisRunEvents } from './with-redis-run-events.ts';

// Faults injected for real: a proxy between ioredis and the machine's Redis holds the reply of
// an append Redis already applied, then cuts the connection, so ioredis resends the append.
const url = process.env.STEWARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisPort = Number(new URL(url).port || 6379);
const prefix = `steward-test-faults-${process.pid}-${Date.now().toString(36)}`;
const admin = new Redis(url, { protocol: 2 });
const stores: RedisRunStore[] = [];

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  const keys = await admin.keys(`${prefix}:*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

const tokens = (runId: string, from: number, to: number): StewardEvent[] =>
  Array.from({ length: to - from + 1 }, (_unused, index) => ({
    type: 'token',
    text: `t${from + index}`,
    run_id: runId,
    seq: from + index,
    timestamp: new Date(1_000 * (from + index)).toISOString(),
  }));

/** Appends `batch` through a store behind the proxy, losing the reply after Redis applied it. */
async function appendLosingTheReply(
  append: () => Promise<void>,
  proxy: FaultProxy,
  runId: string,
  storedAfter: number,
): Promise<void> {
  proxy.pause('replies');
  const appending = append();
  // Redis applies the script before its (held) reply would go out: wait for that, then cut.
  await expect.poll(() => admin.xlen(`${prefix}:run:${runId}:events`)).toBe(storedAfter);
  const sentBefore = proxy.forwardedBytes;
  proxy.cut();
  proxy.resume();
  await appending;
  // ioredis did resend on a new connection: the proxy carried more requests after the cut.
  expect(proxy.forwardedBytes).toBeGreaterThan(sentBefore);
}

describe('createRedisRunStore when a reply is lost and ioredis resends the append', () => {
  it('stores every event once and in order, and goes on appending', async () => {
    const proxy = await startFaultProxy(redisPort);
    const store = createRedisRunStore({ url: `redis://127.0.0.1:${proxy.port}`, prefix });
    await store.appendEvents('blip', tokens('blip', 1, 17));
    await appendLosingTheReply(() => store.appendEvents('blip', tokens('blip', 18, 40)), proxy, 'blip', 40);
    await store.appendEvents('blip', tokens('blip', 41, 50));
    const reader = createRedisRunStore({ url, prefix });
    stores.push(reader);
    expect(await reader.listEvents('blip')).toEqual(tokens('blip', 1, 50));
    await store.close();
    await proxy.close();
  });

  it('keeps the durable copy of withRedisRunEvents whole too', async () => {
    const proxy = await startFaultProxy(redisPort);
    const runs = createRedisRunStore({ url: `redis://127.0.0.1:${proxy.port}`, prefix });
    const durable = createInMemoryStorage();
    const storage = withRedisRunEvents(durable, runs);
    await durable.ensureSession('s', { userId: 'ann' });
    const now = new Date().toISOString();
    await durable.createRun({
      id: 'tiered',
      sessionId: 's',
      userId: 'ann',
      status: 'running',
      createdAt: now,
      updatedAt: now,
    });
    await storage.appendEvents('tiered', tokens('tiered', 1, 17));
    await appendLosingTheReply(
      () => storage.appendEvents('tiered', tokens('tiered', 18, 123)),
      proxy,
      'tiered',
      123,
    );
    expect(await durable.listEvents('tiered', { userId: 'ann' })).toEqual(tokens('tiered', 1, 123));
    expect(await storage.listEvents('tiered', { userId: 'ann' })).toEqual(tokens('tiered', 1, 123));
    await runs.close();
    await proxy.close();
  });
});
