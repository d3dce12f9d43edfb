import { EventEmitter } from 'eventemitter3';
import type { Coordinator, SessionLease } from './coordinator.ts';

interface HeldLock {
  readonly owner: string;
  readonly token: number;
  expiresAt: number;
}

/**
 * Coordination for assistants in one process: session locks with fencing tokens and expiry,
 * sliding-window rate limits and stop requests, all in memory. The default of `new Assistant()`.
 */
export function createInMemoryCoordinator(): Coordinator {
  const locks = new Map<string, HeldLock>();
  const fences = new Map<string, number>();
  const windows = new Map<string, number[]>();
  const stops = new EventEmitter<{ stop: [runId: string] }>();
  let calls = 0;
  const held = (sessionId: string, owner: string) => {
    const lock = locks.get(sessionId);
    return lock !== undefined && lock.owner === owner && lock.expiresAt > Date.now() ? lock : undefined;
  };

  return {
    async acquireSessionLock(sessionId, { owner, ttlMs }) {
      const current = locks.get(sessionId);
      if (current !== undefined && current.expiresAt > Date.now()) return undefined;
      const token = (fences.get(sessionId) ?? 0) + 1;
      fences.set(sessionId, token);
      const lock: HeldLock = { owner, token, expiresAt: Date.now() + ttlMs };
      locks.set(sessionId, lock);
      const lease: SessionLease = {
        token,
        async release() {
          if (held(sessionId, owner) !== lock) return false;
          locks.delete(sessionId);
          return true;
        },
        async extend(extendMs) {
          if (held(sessionId, owner) !== lock) return false;
          lock.expiresAt = Date.now() + extendMs;
          return true;
        },
      };
      return lease;
    },
    async rateLimit(key, { limit, windowMs }) {
      const now = Date.now();
      // Now and then, forget keys whose window emptied, so the map does not grow forever.
      if (++calls % 1_000 === 0) {
        for (const [other, hits] of windows) if ((hits.at(-1) ?? 0) <= now - windowMs) windows.delete(other);
      }
      const hits = (windows.get(key) ?? []).filter((at) => at > now - windowMs);
      if (hits.length >= limit) {
        windows.set(key, hits);
        return { allowed: false, remaining: 0, retryAfterMs: Math.max(0, (hits[0] ?? now) + windowMs - now) };
      }
      hits.push(now);
      windows.set(key, hits);
      return { allowed: true, remaining: limit - hits.length, retryAfterMs: 0 };
    },
    async requestStop(runId) {
      stops.emit('stop', runId);
    },
    watchStops(listener) {
      stops.on('stop', listener);
      return () => stops.off('stop', listener);
    },
  };
}
