import { EventEmitter } from 'eventemitter3';
import type { InputResponse } from '../tools/input-request.ts';
import type { Coordinator, SessionLease, SlotLease } from './coordinator.ts';

interface HeldLock {
  readonly owner: string;
  readonly token: number;
  expiresAt: number;
}

interface HeldSlot {
  expiresAt: number;
}

/** Options of {@link createInMemoryCoordinator}. */
export interface InMemoryCoordinatorOptions {
  /** @internal The clock of lock, slot and rate-limit expiry, for tests. Default `Date.now`. */
  _internal?: { now?: () => number };
}

/**
 * Coordination for assistants in one process: session locks with fencing tokens and expiry,
 * counted slots (active runs) with expiry, sliding-window rate limits, stop requests and answers to
 * tools' requests for input, all in memory. The default of `new Assistant()`.
 */
export function createInMemoryCoordinator(options: InMemoryCoordinatorOptions = {}): Coordinator {
  const now = options._internal?.now ?? Date.now;
  const locks = new Map<string, HeldLock>();
  const fences = new Map<string, number>();
  const slots = new Map<string, Map<string, HeldSlot>>();
  const windows = new Map<string, number[]>();
  const stops = new EventEmitter<{
    stop: [runId: string];
    input: [runId: string, requestId: string, response: InputResponse];
  }>();
  let calls = 0;
  const held = (sessionId: string, owner: string) => {
    const lock = locks.get(sessionId);
    return lock !== undefined && lock.owner === owner && lock.expiresAt > now() ? lock : undefined;
  };
  /** The live holders of `key`, with expired ones dropped. */
  const holders = (key: string) => {
    const holding = slots.get(key) ?? new Map<string, HeldSlot>();
    for (const [owner, slot] of holding) if (slot.expiresAt <= now()) holding.delete(owner);
    if (holding.size === 0) slots.delete(key);
    return holding;
  };

  return {
    async acquireSessionLock(sessionId, { owner, ttlMs }) {
      const current = locks.get(sessionId);
      if (current !== undefined && current.expiresAt > now()) return undefined;
      const token = (fences.get(sessionId) ?? 0) + 1;
      fences.set(sessionId, token);
      const lock: HeldLock = { owner, token, expiresAt: now() + ttlMs };
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
          lock.expiresAt = now() + extendMs;
          return true;
        },
      };
      return lease;
    },
    async acquireSlot(key, { owner, limit, ttlMs }) {
      const holding = holders(key);
      if (!holding.has(owner) && holding.size >= limit) return undefined;
      const slot: HeldSlot = { expiresAt: now() + ttlMs };
      holding.set(owner, slot);
      slots.set(key, holding);
      const mine = () => holders(key).get(owner) === slot;
      const lease: SlotLease = {
        async release() {
          if (!mine()) return false;
          holding.delete(owner);
          if (holding.size === 0 && slots.get(key) === holding) slots.delete(key);
          return true;
        },
        async extend(extendMs) {
          if (!mine()) return false;
          slot.expiresAt = now() + extendMs;
          return true;
        },
      };
      return lease;
    },
    async rateLimit(key, { limit, windowMs }) {
      const at = now();
      // Now and then, forget keys whose window emptied, so the map does not grow forever.
      if (++calls % 1_000 === 0) {
        for (const [other, hits] of windows) if ((hits.at(-1) ?? 0) <= at - windowMs) windows.delete(other);
        for (const other of [...slots.keys()]) holders(other);
      }
      const hits = (windows.get(key) ?? []).filter((hit) => hit > at - windowMs);
      if (hits.length >= limit) {
        windows.set(key, hits);
        return { allowed: false, remaining: 0, retryAfterMs: Math.max(0, (hits[0] ?? at) + windowMs - at) };
      }
      hits.push(at);
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
    async deliverInput(runId, requestId, response) {
      stops.emit('input', runId, requestId, response);
    },
    watchInputs(listener) {
      stops.on('input', listener);
      return () => stops.off('input', listener);
    },
  };
}
