import type { Redis } from 'ioredis';

/**
 * @internal Pub/sub channels over one subscriber connection (a subscribed connection can do
 * nothing else), opened with the first listener and closed with the last. ioredis subscribes
 * again after a reconnect; what was published meanwhile is lost, so callers keep a durable
 * trace where a lost message matters (a stop's flag).
 */
export class RedisChannels {
  readonly #redis: Redis;
  readonly #listeners = new Map<string, Set<(message: string) => void>>();
  #subscriber: Redis | undefined;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  /** Calls `listener` with every message published on `channel`. Returns an unsubscribe. */
  listen(channel: string, listener: (message: string) => void): () => void {
    const subscriber = this.#connection();
    let listeners = this.#listeners.get(channel);
    if (listeners === undefined) {
      listeners = new Set();
      this.#listeners.set(channel, listeners);
      subscriber.subscribe(channel).catch(() => {}); // ioredis resubscribes on reconnect.
    }
    listeners.add(listener);
    return () => {
      if (!listeners.delete(listener) || listeners.size > 0) return;
      this.#listeners.delete(channel);
      if (this.#listeners.size === 0) this.close();
      else this.#subscriber?.unsubscribe(channel).catch(() => {});
    };
  }

  close(): void {
    this.#subscriber?.disconnect();
    this.#subscriber = undefined;
    this.#listeners.clear();
  }

  #connection(): Redis {
    if (this.#subscriber !== undefined) return this.#subscriber;
    const connection = this.#redis.duplicate({ protocol: 2 });
    this.#subscriber = connection;
    connection.on('message', (channel: string, message: string) => {
      for (const notify of this.#listeners.get(channel) ?? []) notify(message);
    });
    return connection;
  }
}
