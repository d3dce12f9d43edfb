import { randomBytes } from 'node:crypto';
import { type IdentityProvider, startIdentityProvider } from '@steward/example-identity-provider';
import type { OidcOptions } from './oidc.ts';

/** The host's `oidc` option: the built-in provider, a real one, or none (development sign-in). */
export type HostOidcOption =
  | 'built-in'
  | (Omit<OidcOptions, 'redirectUris'> & { redirectUris?: readonly string[] })
  | false;

/**
 * The sign-in both host modes use: the built-in provider started for the host's origins (its
 * stop pushed to `cleanups`), or the operator's provider with redirect URIs defaulted to them.
 */
export async function setUpSignIn(
  oidc: HostOidcOption | undefined,
  origins: readonly string[],
  cleanups: (() => Promise<unknown>)[],
): Promise<{ identityProvider?: IdentityProvider; oidcOptions?: OidcOptions }> {
  const redirectUris = origins.map((origin) => `${origin}/auth/callback`);
  if (oidc === false) return {};
  if (oidc !== undefined && oidc !== 'built-in')
    return { oidcOptions: { ...oidc, redirectUris: oidc.redirectUris ?? redirectUris } };
  const clientSecret = randomBytes(32).toString('base64url');
  const identityProvider = await startIdentityProvider({
    clients: [
      {
        clientId: 'steward-express-host',
        clientSecret,
        clientName: 'Steward',
        redirectUris,
        postLogoutRedirectUris: origins.map((origin) => `${origin}/login`),
      },
    ],
    // A confidential web client gets its refresh token without a consent prompt at every sign-in.
    refreshTokens: 'confidential',
  });
  cleanups.push(() => identityProvider.stop());
  return {
    identityProvider,
    oidcOptions: {
      issuer: identityProvider.issuer,
      clientId: 'steward-express-host',
      clientSecret,
      redirectUris,
      scopes: 'openid profile email roles offline_access',
      providerName: 'Steward ID',
    },
  };
}
