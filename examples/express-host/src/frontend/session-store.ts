import connectPgSimple from 'connect-pg-simple';
import { RedisStore } from 'connect-redis';
import session from 'express-session';
import pg from 'pg';
import { createClient } from 'redis';
import { z } from 'zod';
import { MemorySessionStore } from './memory-session-store.ts';

/**
 * Where the host keeps its web sessions:
 * - `memory` (the default): in this process, lost at restart, not shared;
 * - `redis`: one key per session under `prefix` (default `steward:web-session:`), expiring with it;
 * - `postgres`: one row per session in `schema`.`table` (default `public`.`web_session`), the
 *   table created at start when missing, expired rows pruned every 15 minutes.
 */
export type SessionStoreOptions =
  | { type: 'memory'; max?: number }
  | { type: 'redis'; url: string; prefix?: string }
  | { type: 'postgres'; url: string; schema?: string; table?: string };

const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier');

const optionsSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('memory'), max: z.number().int().positive().optional() }).strict(),
  z
    .object({
      type: z.literal('redis'),
      url: z.url({ protocol: /^rediss?$/ }),
      prefix: z.string().min(1).max(200).optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('postgres'),
      url: z.url({ protocol: /^postgres(ql)?$/ }),
      schema: identifier.optional(),
      table: identifier.optional(),
    })
    .strict(),
]);

/** A session store ready for express-session, and how to let go of its connections. */
export interface WebSessionStore {
  readonly store: session.Store;
  close(): Promise<void>;
}

/**
 * Creates the store `options` name and checks it answers, so a host with an unreachable Redis
 * or PostgreSQL fails at start rather than at its first sign-in. Connection trouble later is
 * reported to `onWarning` and fails the request it hits (503), never the process.
 */
export async function createWebSessionStore(
  options: SessionStoreOptions = { type: 'memory' },
  settings: { onWarning?: (error: unknown) => void; now?: () => number } = {},
): Promise<WebSessionStore> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`Invalid session store options: ${z.prettifyError(parsed.error)}`);
  const config = parsed.data;
  const warn = settings.onWarning ?? ((error: unknown) => console.warn('express-host sessions:', error));

  if (config.type === 'memory') {
    const store = new MemorySessionStore({
      ...(config.max === undefined ? {} : { max: config.max }),
      ...(settings.now === undefined ? {} : { now: settings.now }),
    });
    return { store, close: async () => {} };
  }

  if (config.type === 'redis') {
    // The first connection fails the start; once up, a dropped connection is retried with
    // back-off. Without the offline queue, a request during an outage fails at once (503)
    // instead of hanging until Redis is back.
    let connected = false;
    const client = createClient({
      url: config.url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 5_000,
        reconnectStrategy: (retries, cause) => (connected ? Math.min(100 * 2 ** retries, 5_000) : cause),
      },
    });
    client.on('error', warn);
    await client.connect();
    connected = true;
    const store = new RedisStore({ client, prefix: config.prefix ?? 'steward:web-session:' });
    return {
      store,
      close: async () => {
        if (client.isOpen) await client.close();
      },
    };
  }

  const pool = new pg.Pool({ connectionString: config.url, max: 5 });
  pool.on('error', warn);
  const PostgresStore = connectPgSimple(session);
  const store = new PostgresStore({
    pool,
    ...(config.schema === undefined ? {} : { schemaName: config.schema }),
    tableName: config.table ?? 'web_session',
    createTableIfMissing: true,
    errorLog: warn,
  });
  try {
    // The first query creates the table when it is missing.
    await new Promise<void>((resolve, reject) =>
      store.get('startup-check', (error) => (error ? reject(error) : resolve())),
    );
  } catch (error) {
    store.close();
    await pool.end();
    throw error;
  }
  return {
    store,
    close: async () => {
      store.close();
      await pool.end();
    },
  };
}
