import type { GmailServerAuthMode } from './app.ts';
import { demoUsers, type GmailServerOAuthOptions } from './oauth/options.ts';
import { authFromEnvironment } from './service-auth.ts';

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

/**
 * Reads the OAuth mode from the environment, or undefined when `GMAIL_MCP_OAUTH` is not `true`
 * (or `1`). `GMAIL_MCP_OAUTH_ISSUER` and `GMAIL_MCP_OAUTH_RESOURCE` default to the server's URL
 * and its `/mcp`; `GMAIL_MCP_OAUTH_ACCESS_TOKEN_TTL_MS`, `GMAIL_MCP_OAUTH_REFRESH_TOKENS`
 * (`always` or `offline_access`), `GMAIL_MCP_OAUTH_ONE_CLICK=false` (no demo-user buttons) and
 * `GMAIL_MCP_OAUTH_PASSWORDS` (`alice=…,bob=…`) change the defaults.
 */
export function oauthFromEnvironment(environment: NodeJS.ProcessEnv): GmailServerOAuthOptions | undefined {
  const enabled = environment.GMAIL_MCP_OAUTH;
  if (enabled !== 'true' && enabled !== '1') return undefined;
  const passwords = new Map(
    list(environment.GMAIL_MCP_OAUTH_PASSWORDS).map((pair) => {
      const equals = pair.indexOf('=');
      return [pair.slice(0, equals), pair.slice(equals + 1)] as const;
    }),
  );
  const ttl = environment.GMAIL_MCP_OAUTH_ACCESS_TOKEN_TTL_MS;
  const refreshTokens = environment.GMAIL_MCP_OAUTH_REFRESH_TOKENS;
  return {
    ...(environment.GMAIL_MCP_OAUTH_ISSUER ? { issuer: environment.GMAIL_MCP_OAUTH_ISSUER } : {}),
    ...(environment.GMAIL_MCP_OAUTH_RESOURCE ? { resource: environment.GMAIL_MCP_OAUTH_RESOURCE } : {}),
    ...(ttl ? { accessTokenTtlMs: Number(ttl) } : {}),
    ...(refreshTokens
      ? { refreshTokens: refreshTokens as NonNullable<GmailServerOAuthOptions['refreshTokens']> }
      : {}),
    ...(environment.GMAIL_MCP_OAUTH_ONE_CLICK === 'false' ? { oneClickSignIn: false } : {}),
    ...(passwords.size === 0
      ? {}
      : {
          users: demoUsers.map((user) => ({
            ...user,
            password: passwords.get(user.username) ?? user.password,
          })),
        }),
  };
}

/** `GMAIL_MCP_ALLOWED_HOSTS` and `GMAIL_MCP_ALLOWED_ORIGINS`: comma-separated host names and origins. */
export function dnsRebindingFromEnvironment(environment: NodeJS.ProcessEnv) {
  return {
    allowedHosts: list(environment.GMAIL_MCP_ALLOWED_HOSTS),
    allowedOrigins: list(environment.GMAIL_MCP_ALLOWED_ORIGINS),
  };
}

/**
 * The auth mode from the environment: service JWTs (`GMAIL_MCP_JWT_SECRET` or
 * `GMAIL_MCP_JWKS_URL`, see `authFromEnvironment`), OAuth (`GMAIL_MCP_OAUTH`), or neither (open,
 * for local development only). Both at once is a mistake, refused at start.
 */
export function authModeFromEnvironment(environment: NodeJS.ProcessEnv): GmailServerAuthMode | undefined {
  const jwt = authFromEnvironment(environment);
  const oauth = oauthFromEnvironment(environment);
  if (jwt !== undefined && oauth !== undefined)
    throw new Error(
      'Gmail mock: set either GMAIL_MCP_OAUTH or a service JWT key (GMAIL_MCP_JWT_SECRET, GMAIL_MCP_JWKS_URL), not both',
    );
  return oauth === undefined ? jwt : { oauth };
}
