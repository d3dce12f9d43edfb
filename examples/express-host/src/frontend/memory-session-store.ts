import session, { type SessionData } from 'express-session';
import { LRUCache } from 'lru-cache';

type Callback = (error?: unknown, data?: SessionData | null) => void;

/**
 * express-session's store for one process: sessions kept in an LRU cache that expires each one
 * with its cookie (so the idle lifetime holds) and holds at most `max` (so abandoned sessions
 * cannot grow memory without bound, which express-session's own MemoryStore lets happen).
 * Sessions are lost at restart and not shared between processes: use Redis or PostgreSQL for that.
 */
export class MemorySessionStore extends session.Store {
  readonly #sessions: LRUCache<string, string>;
  readonly #defaultTtlMs: number;

  constructor(options: { max?: number; defaultTtlMs?: number; now?: () => number } = {}) {
    super();
    this.#defaultTtlMs = options.defaultTtlMs ?? 24 * 60 * 60_000;
    this.#sessions = new LRUCache({
      max: options.max ?? 10_000,
      ttl: this.#defaultTtlMs,
      // Read the clock on every check: the tests move an injected one without real time passing.
      ttlResolution: 0,
      ...(options.now === undefined ? {} : { perf: { now: options.now } }),
    });
  }

  /** What is left of the cookie's life, as express-session computed it for this request. */
  #ttl(data: SessionData): number {
    const left = data.cookie?.maxAge;
    return typeof left === 'number' ? left : this.#defaultTtlMs;
  }

  override get(id: string, callback: Callback): void {
    const stored = this.#sessions.get(id);
    // Stored as JSON, as the shared stores do: a request never holds another's live object.
    callback(undefined, stored === undefined ? null : (JSON.parse(stored) as SessionData));
  }

  override set(id: string, data: SessionData, callback?: (error?: unknown) => void): void {
    const ttl = this.#ttl(data);
    if (ttl > 0) this.#sessions.set(id, JSON.stringify(data), { ttl });
    else this.#sessions.delete(id);
    callback?.();
  }

  override touch(id: string, data: SessionData, callback?: () => void): void {
    const stored = this.#sessions.get(id);
    if (stored !== undefined) this.#sessions.set(id, JSON.stringify(data), { ttl: this.#ttl(data) });
    callback?.();
  }

  override destroy(id: string, callback?: (error?: unknown) => void): void {
    this.#sessions.delete(id);
    callback?.();
  }
}
