import type { StewardEvent } from '@steward/core';
import type { StewardClient, StreamOptions } from '@steward/transport-ws/client';
import { Redis } from 'ioredis';
import pg from 'pg';

/** A run's events as they stream, and a promise of all of them once the stream ends. */
export function collect(client: StewardClient, runId: string, options: StreamOptions = {}) {
  const events: StewardEvent[] = [];
  const done = (async () => {
    for await (const event of client.stream(runId, options)) events.push(event);
    return events;
  })();
  return { events, done };
}

/** The text of a run's `token` events, joined. */
export function tokensOf(events: readonly StewardEvent[]): string {
  return events.flatMap((event) => (event.type === 'token' ? [event.text] : [])).join('');
}

/** `w1 w2 … wN`: what the mock model streams for `count N`, one word a chunk. */
export function words(count: number): string {
  return Array.from({ length: count }, (_value, index) => `w${index + 1}`).join(' ');
}

/** Drops the test's schema and deletes its Redis keys. */
export async function removeSharedState(options: {
  databaseUrl: string;
  schema: string;
  redisUrl: string;
  prefix: string;
}): Promise<void> {
  const admin = new pg.Client({ connectionString: options.databaseUrl });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(options.schema)} CASCADE`);
  await admin.end();
  const redis = new Redis(options.redisUrl, { protocol: 2 });
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${options.prefix}:*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
}
