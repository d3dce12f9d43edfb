import { checkEventPage, StewardError, type Storage } from '@steward/core';
import type { RedisRunStore } from './redis-run-store.ts';

/**
 * A `Storage` whose run events go to Redis first (any instance can replay and tail them at once)
 * and to the durable storage behind it (a finished run replays from there after the Redis TTL).
 * Reads prefer Redis and fall back to the durable copy. Everything else is the durable storage.
 *
 * @example
 * ```ts
 * const storage = withRedisRunEvents(createPostgresStorage({ connectionString }), createRedisRunStore({ url }));
 * ```
 */
export function withRedisRunEvents(storage: Storage, runs: RedisRunStore): Storage {
  return {
    ...bindAll(storage),
    async appendEvents(runId, events, fence) {
      // Redis decides the order (atomic seq check across instances); the durable copy follows it.
      // Both are idempotent, so a batch resent after a lost reply (by ioredis, or by the caller
      // after a failure) stores in each only what it missed.
      // Both check the fence: Redis against the highest epoch seen or claimed, the durable
      // storage against the run's epoch. A stale writer is refused by Redis before it shows
      // readers anything (a claim raised the fence there first, see transitionRun).
      await runs.appendEvents(runId, events, fence);
      try {
        await storage.appendEvents(runId, events, fence);
      } catch (error) {
        // An instance that died between the two writes leaves the durable copy behind: fill the
        // gap from Redis, then write this batch.
        const details = StewardError.isInstance(error) ? error.details : {};
        const lastSeq = details.lastSeq;
        const first = events[0]?.seq ?? 0;
        if (details.conflictSeq !== undefined || typeof lastSeq !== 'number' || lastSeq >= first - 1)
          throw error;
        const missing = await runs.listEvents(runId, { afterSeq: lastSeq, limit: first - 1 - lastSeq });
        await storage.appendEvents(runId, missing, fence);
        await storage.appendEvents(runId, events, fence);
      }
    },
    async transitionRun(runId, from, to, epoch) {
      // A claim fences Redis first, at the epoch it will hold: from then on the writer it takes
      // the run from cannot append there, even before the durable claim lands. (A claim that
      // fails leaves the fence raised; its holder must have moved on already: each transition
      // moves the epoch, so a run is never twice at one epoch.)
      if (epoch !== undefined) await runs.raiseFence(runId, epoch + 1);
      const claimed = await storage.transitionRun(runId, from, to, epoch);
      if (epoch === undefined && claimed !== undefined) await runs.raiseFence(runId, claimed);
      return claimed;
    },
    async listEvents(runId, scope) {
      checkEventPage(scope);
      // Ownership is the durable storage's to decide: no run for this user, no events.
      const run = await storage.getRun(runId, { userId: scope.userId });
      if (run === undefined) return [];
      const { afterSeq, limit } = scope;
      const live = await runs.listEvents(runId, {
        ...(afterSeq === undefined ? {} : { afterSeq }),
        ...(limit === undefined ? {} : { limit }),
      });
      return live.length > 0 ? live : storage.listEvents(runId, scope);
    },
  };
}

/** The storage's methods bound to it, so spreading keeps `this` working for class-based adapters. */
function bindAll(storage: Storage): Storage {
  const bound: Record<string, unknown> = {};
  let source: object | null = storage;
  while (source !== null && source !== Object.prototype) {
    for (const name of Object.getOwnPropertyNames(source)) {
      const value = (storage as unknown as Record<string, unknown>)[name];
      if (typeof value === 'function' && name !== 'constructor' && !(name in bound))
        bound[name] = value.bind(storage);
    }
    source = Object.getPrototypeOf(source);
  }
  return bound as unknown as Storage;
}
