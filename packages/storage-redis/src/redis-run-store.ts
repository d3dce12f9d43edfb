import {
  type Coordinator,
  type InputResponse,
  inputResponseSchema,
  parseOptions,
  type RateLimitResult,
  type RunFence,
  type SessionLease,
  StewardError,
  type StewardEvent,
} from '@steward/core';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { RedisChannels } from './redis-channels.ts';
import { createRedisRunEvents } from './redis-run-events.ts';
import { acquireRedisSlot } from './redis-slots.ts';

const optionsSchema = z
  .object({
    redis: z.custom<Redis>((value) => value instanceof Redis, 'must be an ioredis client').optional(),
    url: z.string().min(1).optional(),
    prefix: z
      .string()
      .regex(/^[a-zA-Z0-9:_-]{1,64}$/)
      .default('steward'),
    /** How long a run's events stay after the last append. Default one day. */
    eventTtlSeconds: z.number().int().positive().default(86_400),
    _internal: z
      .object({ now: z.custom<() => number>((value) => typeof value === 'function').optional() })
      .strict()
      .optional(),
  })
  .strict()
  .refine(
    (options) => (options.redis === undefined) !== (options.url === undefined),
    'needs exactly one of redis or url',
  );

/** Options of {@link createRedisRunStore}. */
export interface RedisRunStoreOptions {
  /** A ready client; the store duplicates it for blocking reads. */
  redis?: Redis;
  /** e.g. `redis://127.0.0.1:6379`. */
  url?: string;
  /** Key prefix. Default `steward`. */
  prefix?: string;
  /** How long a run's events stay after the last append. Default 86,400 s. */
  eventTtlSeconds?: number;
  /** @internal The clock of rate limits and slot expiry, for tests. Default `Date.now`. */
  _internal?: { now?: () => number };
}

/** A held session lock: core's `SessionLease` (a rising fencing `token`, `release`, `extend`). */
export type SessionLock = SessionLease;

/**
 * Short-term, cross-instance run state in Redis. It is a core `Coordinator`: pass it as
 * `new Assistant({ coordinator })` and every instance shares session locks, rate limits, the
 * count of each user's active runs, stop requests, answers to tools' requests for input and live
 * run tails.
 */
export interface RedisRunStore extends Coordinator {
  /**
   * Appends the next events of a run atomically: seq must follow the last one, or nothing is
   * stored. With `fence`, only if its epoch is not below the run's fence (else `run_fenced`). Idempotent: a batch resent after a lost reply succeeds when its stored part holds the
   * same JSON, storing the rest; other content there is a `storage_error` (`details.conflictSeq`).
   */
  appendEvents(runId: string, events: readonly StewardEvent[], fence?: RunFence): Promise<void>;
  /**
   * Raises the run's fence to `epoch` (it never goes down): from then on an append whose `fence`
   * is lower is refused with `run_fenced`, atomically with the append. Appends raise it too. A
   * claim of the run raises it to the epoch it claims before it lands (see `withRedisRunEvents`).
   * Resolves the fence in force.
   */
  raiseFence(runId: string, epoch: number): Promise<number>;
  /** A run's events after `afterSeq`, at most `limit` of them when given, from any instance. */
  listEvents(runId: string, options?: { afterSeq?: number; limit?: number }): Promise<StewardEvent[]>;
  /** Every event after `afterSeq`, then each new one as it is appended, until `final` or `signal` aborts. */
  tail(
    runId: string,
    options?: { afterSeq?: number; signal?: AbortSignal; blockMs?: number },
  ): AsyncIterable<StewardEvent>;
  /** Takes the session's lock for `owner`, or resolves `undefined` when someone else holds it. */
  acquireSessionLock(
    sessionId: string,
    options: { owner: string; ttlMs: number },
  ): Promise<SessionLock | undefined>;
  /** Counts one request in a sliding window; refused once `limit` requests fall in the last `windowMs`. */
  rateLimit(key: string, options: { limit: number; windowMs: number }): Promise<RateLimitResult>;
  /** Publishes a stop request that every instance's `watchStops` listeners receive. */
  requestStop(runId: string): Promise<void>;
  /** Whether a stop was requested for the run (a flag kept as long as its events). */
  stopRequested(runId: string): Promise<boolean>;
  /** Subscribes to stop requests (one subscriber connection, opened on the first listener). */
  watchStops(listener: (runId: string) => void): () => void;
  /**
   * Publishes the user's answer to a tool's request for input to every instance (pub/sub only:
   * it may hold what the user typed, so it is never stored).
   */
  deliverInput(runId: string, requestId: string, response: InputResponse): Promise<void>;
  /** Subscribes to delivered answers (on the subscriber connection of stops). */
  watchInputs(listener: (runId: string, requestId: string, response: InputResponse) => void): () => void;
  /** {@link tail} under the `Coordinator` name. */
  tailEvents(runId: string, options: { afterSeq: number; signal?: AbortSignal }): AsyncIterable<StewardEvent>;
  close(): Promise<void>;
}

const deliverySchema = z.object({
  runId: z.string().min(1),
  requestId: z.string().min(1),
  response: inputResponseSchema as z.ZodType<InputResponse>,
});

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Events a tail reads at once: its memory stays bounded however long the run. */
const tailPageSize = 500;

// The fence counter keeps rising across acquisitions; it expires a day after the last one, when
// no holder of an old token can be left.
const acquireScript = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local token = redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], 86400)
  return token
end
return 0
`;

const releaseScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

const extendScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

// Sliding window: drop what left the window, count, and add this request only if it fits.
const rateScript = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, limit - count - 1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, 0, math.max(0, tonumber(oldest[2]) + window - now)}
`;

/**
 * Run events in Redis Streams (one stream per run, entry id = seq) so any instance can replay a
 * run from any seq and tail it live; per-session locks with fencing tokens; sliding-window rate
 * limits. Everything carries a TTL, so nothing grows forever.
 */
export function createRedisRunStore(options: RedisRunStoreOptions): RedisRunStore {
  const config = parseOptions(optionsSchema, options, 'createRedisRunStore');
  const redis = config.redis ?? new Redis(config.url as string, { protocol: 2, lazyConnect: false });
  const owned = config.redis === undefined;
  const now = config._internal?.now ?? Date.now;
  const key = (...parts: string[]) => [config.prefix, ...parts].join(':');
  const blockingClients = new Set<Redis>();
  const channels = new RedisChannels(redis);
  // Redis's own words stay in `cause`: a host may show the message to an end user.
  const fail = (error: unknown, what: string) =>
    StewardError.isInstance(error)
      ? error
      : new StewardError(
          'storage_error',
          (error as Error | null)?.name === 'ReplyError'
            ? `${what}: Redis refused it`
            : `${what}: the connection to Redis failed`,
          { cause: error, retryable: true },
        );
  const runEvents = createRedisRunEvents({ redis, key, eventTtlSeconds: config.eventTtlSeconds, fail });

  const store: RedisRunStore = {
    appendEvents: runEvents.appendEvents,
    raiseFence: runEvents.raiseFence,
    listEvents: runEvents.listEvents,
    tail(runId, tailOptions = {}) {
      const blockMs = tailOptions.blockMs ?? 1_000;
      return {
        async *[Symbol.asyncIterator]() {
          let after = tailOptions.afterSeq ?? 0;
          // A blocking read holds its connection, so it gets one of its own.
          const reader = redis.duplicate({ protocol: 2 });
          blockingClients.add(reader);
          const stop = () => reader.disconnect();
          tailOptions.signal?.addEventListener('abort', stop, { once: true });
          try {
            while (!tailOptions.signal?.aborted) {
              // Page by page: a long run's backlog is never held whole.
              const batch = await runEvents.listEvents(runId, { afterSeq: after, limit: tailPageSize });
              for (const event of batch) {
                after = event.seq;
                yield event;
                if (event.type === 'final') return;
              }
              if (batch.length > 0) continue;
              try {
                await reader.call(
                  'XREAD',
                  'BLOCK',
                  blockMs,
                  'STREAMS',
                  key('run', runId, 'events'),
                  `${after}-1`,
                );
              } catch (error) {
                if (tailOptions.signal?.aborted) return;
                throw fail(error, 'Tailing run events');
              }
            }
          } finally {
            tailOptions.signal?.removeEventListener('abort', stop);
            blockingClients.delete(reader);
            reader.disconnect();
          }
        },
      };
    },
    async acquireSessionLock(sessionId, lockOptions) {
      const lockKey = key('session', sessionId, 'lock');
      const token = Number(
        await redis.eval(
          acquireScript,
          2,
          lockKey,
          key('session', sessionId, 'fence'),
          lockOptions.owner,
          lockOptions.ttlMs,
        ),
      );
      if (token === 0) return undefined;
      return {
        token,
        release: async () => Number(await redis.eval(releaseScript, 1, lockKey, lockOptions.owner)) === 1,
        extend: async (ttlMs) =>
          Number(await redis.eval(extendScript, 1, lockKey, lockOptions.owner, ttlMs)) === 1,
      };
    },
    async rateLimit(limitKey, limitOptions) {
      const at = now();
      const [allowed, remaining, retryAfterMs] = (await redis.eval(
        rateScript,
        1,
        key('rate', limitKey),
        at,
        limitOptions.windowMs,
        limitOptions.limit,
        `${at}:${Math.random().toString(36).slice(2)}`,
      )) as [number, number, number];
      return { allowed: allowed === 1, remaining, retryAfterMs };
    },
    acquireSlot: (slotKey, slotOptions) => acquireRedisSlot(redis, key('slots', slotKey), slotOptions, now),
    async requestStop(runId) {
      try {
        // The flag outlives a missed message: the run's heartbeat finds it (stopRequested).
        await redis.set(key('run', runId, 'stop'), '1', 'EX', config.eventTtlSeconds);
        await redis.publish(key('stops'), runId);
      } catch (error) {
        throw fail(error, 'Requesting a stop');
      }
    },
    watchStops(listener) {
      return channels.listen(key('stops'), listener);
    },
    async deliverInput(runId, requestId, response) {
      try {
        await redis.publish(key('inputs'), JSON.stringify({ runId, requestId, response }));
      } catch (error) {
        throw fail(error, 'Delivering an answer to a request for input');
      }
    },
    watchInputs(listener) {
      return channels.listen(key('inputs'), (message) => {
        // Whatever else publishes on the channel gets no say: only a well-formed answer passes.
        const delivery = deliverySchema.safeParse(parseJson(message));
        if (delivery.success) listener(delivery.data.runId, delivery.data.requestId, delivery.data.response);
      });
    },
    async stopRequested(runId) {
      try {
        return (await redis.exists(key('run', runId, 'stop'))) === 1;
      } catch (error) {
        throw fail(error, 'Reading a stop request');
      }
    },
    tailEvents(runId, tailOptions) {
      return store.tail(runId, tailOptions);
    },
    async close() {
      for (const client of blockingClients) client.disconnect();
      channels.close();
      if (owned) await redis.quit();
    },
  };
  return store;
}
