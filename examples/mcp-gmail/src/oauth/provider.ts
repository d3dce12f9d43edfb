import type { OAuthRegisteredClientsStore } from '@modelcontextprotocol/sdk/server/auth/clients.js';
import {
  InvalidRequestError,
  InvalidScopeError,
  InvalidTargetError,
} from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type { OAuthServerProvider } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import type { Consent } from './consent.ts';
import type { GrantStore } from './grants.ts';
import { canonicalResource, grantableScopes, type ResolvedOAuthConfig } from './options.ts';

// RFC 7636 §4.2: an S256 challenge is the base64url SHA-256 of the verifier, 43 characters.
const s256Challenge = /^[A-Za-z0-9_-]{43}$/;

/**
 * The Gmail mock's `OAuthServerProvider` for the MCP SDK's authorization server handlers. The
 * SDK checks the client, the redirect URI, `response_type=code` and `code_challenge_method=S256`
 * (a plain or missing challenge is refused before this runs) and the PKCE verifier at the token
 * endpoint; this adds what it leaves to the provider: scopes, the `resource` (RFC 8707), the
 * user's consent, and the codes and tokens.
 */
export function createGmailOAuthProvider(
  config: ResolvedOAuthConfig,
  clientsStore: OAuthRegisteredClientsStore,
  grants: GrantStore,
  consent: Consent,
): OAuthServerProvider {
  return {
    clientsStore,

    async authorize(client, params, response) {
      if (!s256Challenge.test(params.codeChallenge))
        throw new InvalidRequestError('code_challenge must be an S256 challenge: 43 base64url characters');
      // RFC 6749 §3.3: no scope means the client's registered scope, else the smallest useful one.
      const requested = [...new Set(params.scopes?.filter((scope) => scope !== '') ?? [])];
      const scopes =
        requested.length > 0 ? requested : (client.scope?.split(' ').filter(Boolean) ?? ['gmail.readonly']);
      const unknown = scopes.find((scope) => !grantableScopes.includes(scope));
      if (unknown !== undefined) throw new InvalidScopeError(`${unknown} is not a scope of this server`);
      // RFC 8707: a resource this server is not is refused; none means this server's MCP endpoint.
      const resource = params.resource === undefined ? config.resource : canonicalResource(params.resource);
      if (resource !== config.resource || params.resource?.hash)
        throw new InvalidTargetError(`this server issues tokens for ${config.resource} only`);
      const { req: request } = response;
      const sent: unknown = request.method === 'POST' ? request.body : request.query;
      consent.begin(request, response, {
        client,
        scopes,
        resource,
        codeChallenge: params.codeChallenge,
        redirectUri: params.redirectUri,
        explicitRedirect: typeof (sent as { redirect_uri?: unknown }).redirect_uri === 'string',
        ...(params.state === undefined ? {} : { state: params.state }),
      });
    },

    async challengeForAuthorizationCode(client, code) {
      return grants.challengeFor(client, code);
    },

    async exchangeAuthorizationCode(client, code, _verifier, redirectUri, resource) {
      return grants.redeemCode(client, code, redirectUri, resource);
    },

    async exchangeRefreshToken(client, refreshToken, scopes, resource) {
      return grants.refresh(client, refreshToken, scopes, resource);
    },

    async verifyAccessToken(token) {
      return grants.verify(token);
    },

    async revokeToken(client, request) {
      grants.revoke(client, request.token);
    },
  };
}
