import { z } from 'zod';
import type { SessionStoreOptions } from './frontend/session-store.ts';
import type { ExpressHostOptions } from './host.ts';

const milliseconds = z.coerce.number().int().positive();

const environmentSchema = z.object({
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  STEWARD_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SESSION_STORE_URL: z.url({ protocol: /^(rediss?|postgres(ql)?)$/ }).optional(),
  SESSION_KEY_PREFIX: z.string().min(1).optional(),
  SESSION_SCHEMA: z.string().min(1).optional(),
  SESSION_TABLE: z.string().min(1).optional(),
  SESSION_IDLE_MS: milliseconds.optional(),
  SESSION_ABSOLUTE_MS: milliseconds.optional(),
  SECURE_COOKIES: z.enum(['auto', 'true', 'false']).optional(),
  TRUST_PROXY: z.string().min(1).optional(),
});

/** `true`, `false`, a hop count, or Express's names and addresses (`loopback`, `10.0.0.0/8`). */
function trustProxy(value: string): boolean | number | string {
  if (value === 'true' || value === 'false') return value === 'true';
  return /^\d+$/.test(value) ? Number(value) : value;
}

/**
 * The host's options from the environment (see the README's table). The session store follows
 * `SESSION_STORE_URL`: `redis://` or `rediss://` for Redis, `postgres://` or `postgresql://` for
 * PostgreSQL, unset for this process's memory. Throws a message naming each bad variable.
 */
export function hostOptionsFromEnvironment(env: Record<string, string | undefined>): ExpressHostOptions {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) throw new Error(`Invalid environment: ${z.prettifyError(parsed.error)}`);
  const config = parsed.data;
  const url = config.SESSION_STORE_URL;
  const store: SessionStoreOptions | undefined =
    url === undefined
      ? undefined
      : url.startsWith('redis')
        ? {
            type: 'redis',
            url,
            ...(config.SESSION_KEY_PREFIX === undefined ? {} : { prefix: config.SESSION_KEY_PREFIX }),
          }
        : {
            type: 'postgres',
            url,
            ...(config.SESSION_SCHEMA === undefined ? {} : { schema: config.SESSION_SCHEMA }),
            ...(config.SESSION_TABLE === undefined ? {} : { table: config.SESSION_TABLE }),
          };
  const secure = config.SECURE_COOKIES;
  return {
    ...(config.SESSION_SECRET === undefined ? {} : { sessionSecret: config.SESSION_SECRET }),
    ...(config.STEWARD_JWT_SECRET === undefined ? {} : { jwtSecret: config.STEWARD_JWT_SECRET }),
    sessions: {
      ...(store === undefined ? {} : { store }),
      ...(config.SESSION_IDLE_MS === undefined ? {} : { idleMs: config.SESSION_IDLE_MS }),
      ...(config.SESSION_ABSOLUTE_MS === undefined ? {} : { absoluteMs: config.SESSION_ABSOLUTE_MS }),
    },
    ...(secure === undefined ? {} : { secureCookies: secure === 'auto' ? 'auto' : secure === 'true' }),
    ...(config.TRUST_PROXY === undefined ? {} : { trustProxy: trustProxy(config.TRUST_PROXY) }),
  };
}
