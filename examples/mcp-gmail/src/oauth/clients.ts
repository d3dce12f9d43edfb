import type { OAuthRegisteredClientsStore } from '@modelcontextprotocol/sdk/server/auth/clients.js';
import {
  CustomOAuthError,
  InvalidClientMetadataError,
} from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type { OAuthClientInformationFull } from '@modelcontextprotocol/sdk/shared/auth.js';
import { grantableScopes, type ResolvedOAuthConfig, type TokenEndpointAuthMethod } from './options.ts';

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Whether the token endpoint would ever issue this client a refresh token (RFC 7591 `grant_types`). */
export function mayRefresh(client: OAuthClientInformationFull): boolean {
  return client.grant_types?.includes('refresh_token') ?? false;
}

/** The method a client registered for the token endpoint; RFC 7591 §2's default when it named none. */
export function registeredMethod(client: OAuthClientInformationFull): string {
  return client.token_endpoint_auth_method ?? 'client_secret_basic';
}

/**
 * The registration policy of RFC 7591 and the MCP specification: redirect URIs on HTTPS or a
 * loopback host, without fragments (`invalid_redirect_uri`); only the authorization code and
 * refresh token grants, the `code` response type, the scopes there are and an authentication
 * method the token endpoint takes (`invalid_client_metadata`). What the client left out gets
 * RFC 7591's defaults, written into the answer so the client knows them.
 */
function checkRegistration(
  client: OAuthClientInformationFull,
  methods: readonly TokenEndpointAuthMethod[],
): OAuthClientInformationFull {
  if (client.redirect_uris.length === 0)
    throw new CustomOAuthError('invalid_redirect_uri', 'redirect_uris must name at least one URI');
  for (const uri of client.redirect_uris) {
    const url = new URL(uri);
    if (url.hash !== '')
      throw new CustomOAuthError('invalid_redirect_uri', `redirect URI ${uri} must not have a fragment`);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopbackHosts.has(url.hostname)))
      throw new CustomOAuthError(
        'invalid_redirect_uri',
        `redirect URI ${uri} must use https, or http on a loopback host`,
      );
  }
  const grantTypes = client.grant_types ?? ['authorization_code'];
  const unknownGrant = grantTypes.find(
    (grant) => grant !== 'authorization_code' && grant !== 'refresh_token',
  );
  if (unknownGrant !== undefined || !grantTypes.includes('authorization_code'))
    throw new InvalidClientMetadataError(
      `grant_types must include authorization_code and may add refresh_token${unknownGrant === undefined ? '' : ` (not ${unknownGrant})`}`,
    );
  const responseTypes = client.response_types ?? ['code'];
  if (responseTypes.some((type) => type !== 'code'))
    throw new InvalidClientMetadataError('response_types may only be code');
  const unknownScope = client.scope?.split(' ').find((scope) => !grantableScopes.includes(scope));
  if (unknownScope !== undefined)
    throw new InvalidClientMetadataError(`scope ${unknownScope} is not a scope of this server`);
  const method = client.token_endpoint_auth_method ?? 'client_secret_basic';
  if (!(methods as readonly string[]).includes(method))
    throw new InvalidClientMetadataError(
      `token_endpoint_auth_method ${method} is not supported: use one of ${methods.join(', ')}`,
    );
  return {
    ...client,
    grant_types: grantTypes,
    response_types: responseTypes,
    token_endpoint_auth_method: method,
  };
}

/**
 * The clients the authorization server knows, in memory: the pre-registered ones from the
 * options (granted the refresh token grant unless they say otherwise), and those that register
 * at `/register` when dynamic registration is on.
 */
export function createClientsStore(config: ResolvedOAuthConfig): OAuthRegisteredClientsStore {
  const clients = new Map<string, OAuthClientInformationFull>(
    config.clients.map((client) => [
      client.client_id,
      {
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        ...client,
      },
    ]),
  );
  return {
    getClient: (clientId) => clients.get(clientId),
    ...(config.dynamicClientRegistration
      ? {
          registerClient(client: Omit<OAuthClientInformationFull, 'client_id' | 'client_id_issued_at'>) {
            const checked = checkRegistration(
              client as OAuthClientInformationFull,
              config.tokenEndpointAuthMethods,
            );
            clients.set(checked.client_id, checked);
            return checked;
          },
        }
      : {}),
  };
}
