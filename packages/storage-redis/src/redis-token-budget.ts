import {
  parseOptions,
  periodWindows,
  type TokenBudget,
  type TokenBudgetOptions,
  tokenBudgetOptionsSchema,
  verdictOf,
} from '@steward/core';
import { Redis } from 'ioredis';
import { z } from 'zod';

const optionsSchema = tokenBudgetOptionsSchema
  .extend({
    redis: z.custom<Redis>((value) => value instanceof Redis, 'must be an ioredis client').optional(),
    url: z.string().min(1).optional(),
    prefix: z
      .string()
      .regex(/^[a-zA-Z0-9:_-]{1,64}$/)
      .default('steward'),
  })
  .refine(
    (options) => (options.redis === undefined) !== (options.url === undefined),
    'needs exactly one of redis or url',
  );

/** Options of {@link createRedisTokenBudget}. */
export interface RedisTokenBudgetOptions extends TokenBudgetOptions {
  /** A ready client (shared; not closed by the budget). */
  redis?: Redis;
  /** e.g. `redis://127.0.0.1:6379`: the budget opens its own client (`close()` ends it). */
  url?: string;
  /** Key prefix. Default `steward`. */
  prefix?: string;
}

/** A `TokenBudget` (from `@steward/core`) in Redis, and its lifecycle. */
export interface RedisTokenBudget extends TokenBudget {
  /** Ends the client the budget opened from `url`; a passed client stays open. */
  close(): Promise<void>;
}

// One script per charge: every period's counter rises, and gets its expiry, in one atomic step,
// so two instances charging the same user at once never lose a count.
const chargeScript = `
local counts = {}
for index, key in ipairs(KEYS) do
  counts[index] = redis.call('INCRBY', key, ARGV[1])
  redis.call('PEXPIREAT', key, ARGV[index + 1])
end
return counts`;

/** Counters outlive their period by a day, so a clock a little behind still reads them. */
const graceMs = 86_400_000;

/**
 * Per-user token budgets shared by every instance on the same Redis and prefix: counters per
 * user and UTC day or month (`<prefix>:budget:<user>:day:2026-11-30`), charged atomically by one
 * Lua script, expiring a day after their period ends.
 *
 * @example
 * ```ts
 * const budget = createRedisTokenBudget({ url: process.env.REDIS_URL, limits: { perDay: 200_000, perMonth: 3_000_000 } });
 * const assistant = new Assistant({ model, coordinator, budget });
 * ```
 */
export function createRedisTokenBudget(options: RedisTokenBudgetOptions): RedisTokenBudget {
  const config = parseOptions(optionsSchema, options, 'createRedisTokenBudget');
  const owned = config.redis === undefined;
  const redis = config.redis ?? new Redis(config.url as string, { protocol: 2 });
  const now = config._internal?.now ?? Date.now;
  const windowsOf = (userId: string, at: number) =>
    periodWindows(config.limitsFor?.(userId) ?? config.limits, at);
  const keyOf = (userId: string, key: string) =>
    `${config.prefix}:budget:${encodeURIComponent(userId)}:${key}`;
  return {
    async check(userId) {
      const at = now();
      const windows = windowsOf(userId, at);
      if (windows.length === 0) return verdictOf(windows, [], at);
      const values = await redis.mget(...windows.map((window) => keyOf(userId, window.key)));
      return verdictOf(
        windows,
        values.map((value) => Number(value ?? 0)),
        at,
      );
    },
    async charge(userId, tokens) {
      const at = now();
      const windows = windowsOf(userId, at);
      if (windows.length === 0) return verdictOf(windows, [], at);
      const counts = (await redis.eval(
        chargeScript,
        windows.length,
        ...windows.map((window) => keyOf(userId, window.key)),
        Math.max(0, Math.round(tokens)),
        ...windows.map((window) => window.endsAt + graceMs),
      )) as number[];
      return verdictOf(windows, counts.map(Number), at);
    },
    async close() {
      if (owned) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
