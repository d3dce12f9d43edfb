import type { SlotLease } from '@steward/core';
import type { Redis } from 'ioredis';

// A key's slots are one sorted set: member = owner, score = when its hold expires. Expired
// holds are dropped before counting, so a dead instance's slots free themselves; the set itself
// expires with its longest hold.
const acquireScript = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[2])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(last[2]) - now))
return 1
`;

const extendScript = `
local now = tonumber(ARGV[1])
local expires = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not expires or tonumber(expires) <= now then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(last[2]) - now))
return 1
`;

const releaseScript = `
local expires = redis.call('ZSCORE', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[1], ARGV[2])
if not expires or tonumber(expires) <= tonumber(ARGV[1]) then return 0 end
return 1
`;

/**
 * @internal `Coordinator.acquireSlot` in Redis: one of `limit` slots under `slotKey` for `owner`,
 * counted across every instance, or `undefined` while all are held.
 */
export async function acquireRedisSlot(
  redis: Redis,
  slotKey: string,
  options: { owner: string; limit: number; ttlMs: number },
  now: () => number,
): Promise<SlotLease | undefined> {
  const acquired = await redis.eval(
    acquireScript,
    1,
    slotKey,
    now(),
    options.owner,
    options.limit,
    options.ttlMs,
  );
  if (Number(acquired) !== 1) return undefined;
  return {
    release: async () => Number(await redis.eval(releaseScript, 1, slotKey, now(), options.owner)) === 1,
    extend: async (ttlMs) =>
      Number(await redis.eval(extendScript, 1, slotKey, now(), options.owner, ttlMs)) === 1,
  };
}
