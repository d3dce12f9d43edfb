import { describe, expect, it } from 'vitest';
import { createInMemoryCoordinator } from './in-memory-coordinator.ts';

/** A coordinator on a clock the test moves. */
function onClock() {
  let time = 1_000_000;
  const coordinator = createInMemoryCoordinator({ _internal: { now: () => time } });
  return {
    coordinator,
    advance(ms: number) {
      time += ms;
    },
  };
}

describe('createInMemoryCoordinator: counted slots', () => {
  it('grants at most limit slots per key, and a released one to the next holder', async () => {
    const { coordinator } = onClock();
    const slot = (owner: string, key = 'active-runs:ann') =>
      coordinator.acquireSlot(key, { owner, limit: 2, ttlMs: 15_000 });
    const first = await slot('a');
    expect(await slot('b')).toBeDefined();
    expect(await slot('c')).toBeUndefined();
    // Another key has slots of its own.
    expect(await slot('c', 'active-runs:bob')).toBeDefined();
    expect(await first?.release()).toBe(true);
    expect(await first?.release()).toBe(false);
    expect(await slot('c')).toBeDefined();
  });

  it('counts an owner once, however often it asks', async () => {
    const { coordinator } = onClock();
    const options = { owner: 'a', limit: 1, ttlMs: 15_000 };
    expect(await coordinator.acquireSlot('k', options)).toBeDefined();
    expect(await coordinator.acquireSlot('k', options)).toBeDefined();
    expect(await coordinator.acquireSlot('k', { ...options, owner: 'b' })).toBeUndefined();
  });

  it('frees a slot nobody extends once its ttl passes (a dead instance), and keeps an extended one', async () => {
    const { coordinator, advance } = onClock();
    const options = { limit: 1, ttlMs: 15_000 };
    const dead = await coordinator.acquireSlot('dead', { ...options, owner: 'a' });
    const live = await coordinator.acquireSlot('live', { ...options, owner: 'a' });
    advance(10_000);
    expect(await live?.extend(15_000)).toBe(true);
    expect(await coordinator.acquireSlot('dead', { ...options, owner: 'b' })).toBeUndefined();
    advance(5_000);
    // Dead: expired, taken by the next owner; its holder can neither extend nor release it.
    const next = await coordinator.acquireSlot('dead', { ...options, owner: 'b' });
    expect(next).toBeDefined();
    expect(await dead?.extend(15_000)).toBe(false);
    expect(await dead?.release()).toBe(false);
    // Live: still held, ten seconds into its extension.
    expect(await coordinator.acquireSlot('live', { ...options, owner: 'b' })).toBeUndefined();
    advance(10_001);
    expect(await coordinator.acquireSlot('live', { ...options, owner: 'b' })).toBeDefined();
  });
});

describe('createInMemoryCoordinator: rate limits', () => {
  it('counts a sliding window: a request is allowed again once the oldest left it', async () => {
    const { coordinator, advance } = onClock();
    const limit = { limit: 2, windowMs: 40 };
    expect(await coordinator.rateLimit('k', limit)).toMatchObject({ allowed: true, remaining: 1 });
    advance(10);
    expect(await coordinator.rateLimit('k', limit)).toMatchObject({ allowed: true, remaining: 0 });
    expect(await coordinator.rateLimit('k', limit)).toEqual({
      allowed: false,
      remaining: 0,
      retryAfterMs: 30,
    });
    advance(30);
    expect((await coordinator.rateLimit('k', limit)).allowed).toBe(true);
    expect((await coordinator.rateLimit('k', limit)).allowed).toBe(false);
  });
});
