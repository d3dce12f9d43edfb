import type { StewardEvent } from '@steward/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createRedisRunStore, type RedisRunStore } from './redis-run-store.ts';

// The machine's real Redis (see DEVELOPERS.md); every test run uses its own key prefix.
const url = process.env.STEWARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `steward-test-${process.pid}-${Date.now().toString(36)}`;
const stores: RedisRunStore[] = [];
const open = () => {
  const store = createRedisRunStore({ url, prefix });
  stores.push(store);
  return store;
};

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  const admin = new Redis(url, { protocol: 2 });
  const keys = await admin.keys(`${prefix}:*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

const event = (runId: string, seq: number, type: 'token' | 'final' = 'token'): StewardEvent =>
  type === 'final'
    ? {
        type: 'final',
        text: 'done',
        usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 },
        stop_reason: 'stop',
        partial: false,
        run_id: runId,
        seq,
        timestamp: new Date().toISOString(),
      }
    : { type: 'token', text: `t${seq}`, run_id: runId, seq, timestamp: new Date().toISOString() };

describe('createRedisRunStore', () => {
  it('appends events by seq and replays them from any seq, on any instance', async () => {
    const writer = open();
    const reader = open();
    await writer.appendEvents('r1', [event('r1', 1), event('r1', 2), event('r1', 3)]);
    expect((await reader.listEvents('r1')).map((item) => item.seq)).toEqual([1, 2, 3]);
    expect((await reader.listEvents('r1', { afterSeq: 2 })).map((item) => item.seq)).toEqual([3]);
  });

  it('refuses gaps and other content under a stored seq, even from concurrent writers', async () => {
    const store = open();
    const first = event('r2', 1);
    await store.appendEvents('r2', [first]);
    await expect(store.appendEvents('r2', [event('r2', 3)])).rejects.toMatchObject({
      code: 'storage_error',
      details: { lastSeq: 1 },
    });
    await expect(
      store.appendEvents('r2', [{ ...first, text: 'other' } as StewardEvent]),
    ).rejects.toMatchObject({
      code: 'storage_error',
      details: { conflictSeq: 1, lastSeq: 1 },
    });
    // The same event again is a resend: stored once.
    await store.appendEvents('r2', [first]);
    const writers = Array.from({ length: 6 }, () => open());
    const outcomes = await Promise.allSettled(
      writers.map((writer, index) =>
        writer.appendEvents('r2', [{ ...event('r2', 2), text: `w${index}` } as StewardEvent]),
      ),
    );
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    expect((await store.listEvents('r2')).map((item) => item.seq)).toEqual([1, 2]);
  });

  it('reads a run page by page, and tails a long backlog in pages of bounded size', async () => {
    const client = new Redis(url, { protocol: 2 });
    const store = createRedisRunStore({ redis: client, prefix });
    const all = Array.from({ length: 1_203 }, (_unused, index) => event('r-long', index + 1));
    for (let from = 0; from < all.length; from += 400)
      await store.appendEvents('r-long', all.slice(from, from + 400));
    expect((await store.listEvents('r-long', { afterSeq: 10, limit: 3 })).map((item) => item.seq)).toEqual([
      11, 12, 13,
    ]);
    expect(await store.listEvents('r-long', { afterSeq: 1_203, limit: 3 })).toEqual([]);
    await expect(store.listEvents('r-long', { limit: 0 })).rejects.toMatchObject({ code: 'invalid_input' });
    await store.appendEvents('r-long', [event('r-long', 1_204, 'final')]);
    const reads: unknown[][] = [];
    const call = client.call.bind(client);
    const spy = vi.spyOn(client, 'call').mockImplementation(((...args: unknown[]) => {
      if (args[0] === 'XRANGE') reads.push(args);
      return (call as (...rest: unknown[]) => unknown)(...args);
    }) as typeof client.call);
    const seen: number[] = [];
    for await (const item of store.tail('r-long')) seen.push(item.seq);
    spy.mockRestore();
    expect(seen).toEqual(Array.from({ length: 1_204 }, (_unused, index) => index + 1));
    // Three reads of at most 500 events each, never the whole backlog at once.
    expect(reads.map((args) => args.slice(-2))).toEqual(Array(3).fill(['COUNT', 500]));
    await store.close();
    await client.quit();
  });

  it('tails a run live from another instance: every event once, in order, resuming from a seq', async () => {
    const writer = open();
    const reader = open();
    await writer.appendEvents('r3', [event('r3', 1), event('r3', 2)]);
    const seen: number[] = [];
    const tailing = (async () => {
      for await (const item of reader.tail('r3', { afterSeq: 1, blockMs: 200 })) seen.push(item.seq);
    })();
    for (let seq = 3; seq <= 6; seq++) {
      await new Promise((resolve) => setTimeout(resolve, 15));
      await writer.appendEvents('r3', [event('r3', seq)]);
    }
    await writer.appendEvents('r3', [event('r3', 7, 'final')]);
    await tailing;
    expect(seen).toEqual([2, 3, 4, 5, 6, 7]);
  });

  it('stops tailing when aborted', async () => {
    const store = open();
    const controller = new AbortController();
    const tailing = (async () => {
      const seen: StewardEvent[] = [];
      for await (const item of store.tail('quiet', { signal: controller.signal, blockMs: 5_000 }))
        seen.push(item);
      return seen;
    })();
    setTimeout(() => controller.abort(), 50);
    expect(await tailing).toEqual([]);
  });

  it('locks a session for one owner, with rising fencing tokens', async () => {
    const a = open();
    const b = open();
    const first = await a.acquireSessionLock('s1', { owner: 'instance-a', ttlMs: 5_000 });
    expect(first?.token).toEqual(expect.any(Number));
    expect(await b.acquireSessionLock('s1', { owner: 'instance-b', ttlMs: 5_000 })).toBeUndefined();
    expect(await first?.extend(5_000)).toBe(true);
    expect(await first?.release()).toBe(true);
    const second = await b.acquireSessionLock('s1', { owner: 'instance-b', ttlMs: 50 });
    expect(second?.token).toBeGreaterThan(first?.token ?? Number.POSITIVE_INFINITY);
    expect(await first?.release()).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 80));
    const third = await a.acquireSessionLock('s1', { owner: 'instance-a', ttlMs: 5_000 });
    expect(third?.token).toBeGreaterThan(second?.token ?? Number.POSITIVE_INFINITY);
    expect(await second?.extend(1_000)).toBe(false);
  });

  it('lets no lock key outlive its use: the lock by its TTL, the fence counter within a day', async () => {
    const store = open();
    const lease = await store.acquireSessionLock('s-ttl', { owner: 'instance-a', ttlMs: 5_000 });
    const admin = new Redis(url, { protocol: 2 });
    try {
      const lockTtl = await admin.pttl(`${prefix}:session:s-ttl:lock`);
      expect(lockTtl).toBeGreaterThan(0);
      expect(lockTtl).toBeLessThanOrEqual(5_000);
      const fenceTtl = await admin.ttl(`${prefix}:session:s-ttl:fence`);
      expect(fenceTtl).toBeGreaterThan(0);
      expect(fenceTtl).toBeLessThanOrEqual(86_400);
    } finally {
      await admin.quit();
      await lease?.release();
    }
  });

  it('limits requests in a sliding window', async () => {
    const store = open();
    const results = [];
    for (let index = 0; index < 4; index++)
      results.push(await store.rateLimit('user:ann', { limit: 3, windowMs: 200 }));
    expect(results.map((result) => result.allowed)).toEqual([true, true, true, false]);
    expect(results[3]?.retryAfterMs).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 220));
    expect((await store.rateLimit('user:ann', { limit: 3, windowMs: 200 })).allowed).toBe(true);
  });

  it('rejects bad options with a typed error', () => {
    expect(() => createRedisRunStore({})).toThrow(expect.objectContaining({ code: 'invalid_options' }));
  });
});
