import { selectClientAuthMethod } from '@modelcontextprotocol/sdk/client/auth.js';
import { discover } from './discovery.ts';
import type { ServerOAuth } from './server-oauth.ts';
import { VaultOAuthProvider } from './vault-oauth-provider.ts';
import type { TokenRecord } from './vault-records.ts';

/**
 * @internal Revokes a user's grant (RFC 7009) where the authorization server has a revocation
 * endpoint: the refresh token (which takes its access tokens with it), else the access token,
 * authenticated as the client is at the token endpoint. Best effort: the tokens are deleted
 * anyway, so a failure is only reported.
 */
export async function revokeTokens(
  target: ServerOAuth,
  userId: string,
  record: TokenRecord,
): Promise<boolean> {
  const tokens = record.tokens;
  if (tokens === undefined) return false;
  const discovery = await discover(target);
  // RFC 7009 fields, in OAuth (RFC 8414) and OpenID Connect metadata alike.
  const metadata = discovery.authorizationServerMetadata as
    | {
        revocation_endpoint?: string;
        revocation_endpoint_auth_methods_supported?: string[];
        token_endpoint_auth_methods_supported?: string[];
      }
    | undefined;
  const endpoint = metadata?.revocation_endpoint;
  if (endpoint === undefined) return false;
  const provider = new VaultOAuthProvider(target, userId, { kind: 'exchange', codeVerifier: '', scopes: [] });
  const client = await provider.clientInformation();
  if (client === undefined) return false;
  const body = new URLSearchParams(
    tokens.refresh_token === undefined
      ? { token: tokens.access_token, token_type_hint: 'access_token' }
      : { token: tokens.refresh_token, token_type_hint: 'refresh_token' },
  );
  const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded' });
  const method = selectClientAuthMethod(
    client,
    metadata?.revocation_endpoint_auth_methods_supported ??
      metadata?.token_endpoint_auth_methods_supported ??
      [],
  );
  if (method === 'client_secret_basic' && client.client_secret !== undefined)
    headers.set(
      'authorization',
      // As the SDK sends it at the token endpoint, so the server reads both alike.
      `Basic ${btoa(`${client.client_id}:${client.client_secret}`)}`,
    );
  else {
    body.set('client_id', client.client_id);
    if (method === 'client_secret_post' && client.client_secret !== undefined)
      body.set('client_secret', client.client_secret);
  }
  const response = await target.fetch(endpoint, { method: 'POST', headers, body });
  await response.body?.cancel().catch(() => {});
  return response.ok;
}
