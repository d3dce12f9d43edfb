import { z } from 'zod';
import type { SessionStoreOptions } from './frontend/session-store.ts';
import type { ExpressHostOptions } from './host.ts';
import type { RemoteExpressHostOptions } from './remote-host.ts';

/** The host's options; `orchestrator` is set when the pages forward to a remote orchestrator (pattern A). */
export type HostEnvironmentOptions = ExpressHostOptions & {
  orchestrator?: RemoteExpressHostOptions['orchestrator'];
};

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
  OIDC_ISSUER: z.url().optional(),
  OIDC_CLIENT_ID: z.string().min(1).optional(),
  OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  OIDC_REDIRECT_URI: z.url().optional(),
  OIDC_SCOPES: z
    .string()
    .regex(/\bopenid\b/, 'must include openid')
    .optional(),
  OIDC_AUTHORIZATION_PARAMS: z.string().optional(),
  OIDC_ROLES_CLAIM: z.string().min(1).optional(),
  OIDC_PROVIDER_NAME: z.string().min(1).max(60).optional(),
  ADMIN_USERS: z.string().optional(),
  STEWARD_DEV_SIGN_IN: z.enum(['true', 'false']).optional(),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  STEWARD_VAULT_KEYS: z.string().min(1).optional(),
  MCP_ALLOWED_ORIGINS: z.string().optional(),
  MCP_ALLOWED_NETWORKS: z.string().optional(),
  STEWARD_ORCHESTRATOR_URL: z.url({ protocol: /^https?$/ }).optional(),
  STEWARD_ORCHESTRATOR_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  STEWARD_ORCHESTRATOR_JWT_ISSUER: z.string().min(1).optional(),
  STEWARD_ORCHESTRATOR_JWT_AUDIENCE: z.string().min(1).optional(),
});

const list = (value: string | undefined) =>
  value === undefined ? [] : value.split(/[\s,]+/).filter((item) => item !== '');

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
export function hostOptionsFromEnvironment(env: Record<string, string | undefined>): HostEnvironmentOptions {
  const parsed = environmentSchema
    .refine((value) => value.OIDC_ISSUER === undefined || value.OIDC_CLIENT_ID !== undefined, {
      path: ['OIDC_CLIENT_ID'],
      message: 'is needed with OIDC_ISSUER',
    })
    .refine(
      (value) =>
        value.STEWARD_ORCHESTRATOR_URL === undefined || value.STEWARD_ORCHESTRATOR_JWT_SECRET !== undefined,
      {
        path: ['STEWARD_ORCHESTRATOR_JWT_SECRET'],
        message: 'is needed with STEWARD_ORCHESTRATOR_URL (the orchestrator’s STEWARD_JWT_SECRET)',
      },
    )
    .safeParse(env);
  if (!parsed.success) throw new Error(`Invalid environment: ${z.prettifyError(parsed.error)}`);
  const config = parsed.data;
  const oidc: ExpressHostOptions['oidc'] =
    config.OIDC_ISSUER === undefined
      ? undefined
      : {
          issuer: config.OIDC_ISSUER,
          clientId: config.OIDC_CLIENT_ID as string,
          ...(config.OIDC_CLIENT_SECRET === undefined ? {} : { clientSecret: config.OIDC_CLIENT_SECRET }),
          ...(config.OIDC_REDIRECT_URI === undefined ? {} : { redirectUris: [config.OIDC_REDIRECT_URI] }),
          ...(config.OIDC_SCOPES === undefined ? {} : { scopes: config.OIDC_SCOPES }),
          ...(config.OIDC_AUTHORIZATION_PARAMS === undefined
            ? {}
            : {
                authorizationParams: Object.fromEntries(
                  new URLSearchParams(config.OIDC_AUTHORIZATION_PARAMS),
                ),
              }),
          ...(config.OIDC_ROLES_CLAIM === undefined ? {} : { rolesClaim: config.OIDC_ROLES_CLAIM }),
          ...(config.OIDC_PROVIDER_NAME === undefined ? {} : { providerName: config.OIDC_PROVIDER_NAME }),
          adminUsers: list(config.ADMIN_USERS),
        };
  const origins = list(config.MCP_ALLOWED_ORIGINS);
  const networks = list(config.MCP_ALLOWED_NETWORKS);
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
    ...(oidc === undefined ? {} : { oidc }),
    ...(config.STEWARD_DEV_SIGN_IN === 'true' ? { devSignIn: true } : {}),
    ...(config.DATABASE_URL === undefined ? {} : { databaseUrl: config.DATABASE_URL }),
    ...(config.STEWARD_VAULT_KEYS === undefined ? {} : { vaultKeys: config.STEWARD_VAULT_KEYS }),
    ...(config.STEWARD_ORCHESTRATOR_URL === undefined
      ? {}
      : {
          orchestrator: {
            url: config.STEWARD_ORCHESTRATOR_URL,
            secret: config.STEWARD_ORCHESTRATOR_JWT_SECRET as string,
            ...(config.STEWARD_ORCHESTRATOR_JWT_ISSUER === undefined
              ? {}
              : { issuer: config.STEWARD_ORCHESTRATOR_JWT_ISSUER }),
            ...(config.STEWARD_ORCHESTRATOR_JWT_AUDIENCE === undefined
              ? {}
              : { audience: config.STEWARD_ORCHESTRATOR_JWT_AUDIENCE }),
          },
        }),
    ...(origins.length === 0 && networks.length === 0
      ? {}
      : { mcpRegistrations: { allowedOrigins: origins, allowedNetworks: networks } }),
  };
}
