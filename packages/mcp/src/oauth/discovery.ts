import {
  discoverOAuthServerInfo,
  extractWWWAuthenticateParams,
  type OAuthDiscoveryState,
  selectResourceURL,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { StewardError } from '@steward/core';
import type { Challenge } from './authorization-needed.ts';
import type { ServerOAuth } from './server-oauth.ts';
import type { VaultOAuthProvider } from './vault-oauth-provider.ts';

/** @internal What a `WWW-Authenticate` challenge says, as the SDK reads it. */
export function challengeOf(response: Response): Challenge & { error?: string | undefined } {
  const { resourceMetadataUrl, scope, error } = extractWWWAuthenticateParams(response);
  return { resourceMetadataUrl: resourceMetadataUrl?.href, scope, error };
}

/**
 * @internal Asks the server without a token, to read its 401 challenge: the resource metadata URL
 * (RFC 9728 §5.1) and the scope it wants. A server that answers anything else has none to give;
 * a session it opened anyway is closed again.
 */
export async function probeChallenge(target: ServerOAuth, clientName: string): Promise<Challenge> {
  const response = await target.fetch(target.serverUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: LATEST_PROTOCOL_VERSION,
        capabilities: {},
        clientInfo: { name: clientName, version: '0' },
      },
    }),
  });
  await response.body?.cancel().catch(() => {});
  if (response.status === 401) {
    const { resourceMetadataUrl, scope } = challengeOf(response);
    target.challenge = { resourceMetadataUrl, scope };
    return target.challenge;
  }
  const session = response.headers.get('mcp-session-id');
  if (response.ok && session !== null)
    await target
      .fetch(target.serverUrl, { method: 'DELETE', headers: { 'mcp-session-id': session } })
      .then((answer) => answer.body?.cancel())
      .catch(() => {});
  return {};
}

/**
 * @internal The server's authorization server and metadata, discovered once per server by the
 * SDK: protected resource metadata from the challenge's URL, else the path-based then the root
 * well-known URL; then RFC 8414 and OpenID Connect discovery with their fallbacks; a server with
 * no metadata at all (2025-03-26) gets the default endpoints under its origin.
 */
export async function discover(
  target: ServerOAuth,
  resourceMetadataUrl?: string,
): Promise<OAuthDiscoveryState> {
  const known = target.discovery;
  if (
    known !== undefined &&
    (resourceMetadataUrl === undefined || known.resourceMetadataUrl === resourceMetadataUrl)
  )
    return known;
  try {
    const info = await discoverOAuthServerInfo(target.serverUrl, {
      ...(resourceMetadataUrl === undefined ? {} : { resourceMetadataUrl: new URL(resourceMetadataUrl) }),
      fetchFn: target.fetch,
    });
    target.discovery = { ...info, ...(resourceMetadataUrl === undefined ? {} : { resourceMetadataUrl }) };
    return target.discovery;
  } catch (error) {
    throw authorizationServerError(
      target.server,
      'discovery_failed',
      'discovering its authorization server failed',
      error,
    );
  }
}

/**
 * @internal The `resource` parameter (RFC 8707): the resource metadata's `resource`, checked
 * against the server's URL by the SDK, sent as written; none without metadata (2025-03-26).
 */
export async function resourceOf(
  target: ServerOAuth,
  provider: VaultOAuthProvider,
  discovery: OAuthDiscoveryState,
): Promise<string | undefined> {
  const selected = await selectResourceURL(target.serverUrl, provider, discovery.resourceMetadata);
  if (selected === undefined) return undefined;
  return discovery.resourceMetadata?.resource ?? selected.href;
}

/** @internal An `authorization_failed` for a step that talks to the authorization server. */
export function authorizationServerError(
  server: string,
  reason: string,
  what: string,
  cause: unknown,
  oauthError?: string,
): StewardError {
  // The cause's message may quote a response body; it is kept as the cause, not in the message.
  return new StewardError('authorization_failed', `${server}: ${what}`, {
    cause,
    details: { server, reason, ...(oauthError === undefined ? {} : { error: oauthError }) },
  });
}
