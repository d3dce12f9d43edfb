import type { ResolvedServerConfig } from '../server-config.ts';
import type { ConnectionOptions, McpServerStatus } from '../server-connection.ts';
import type { FetchLike } from '../service-auth.ts';
import { createBearerFetch } from './bearer-fetch.ts';
import type { OAuthServers } from './oauth-servers.ts';
import { PerUserServer } from './per-user-server.ts';
import { ServerOAuth } from './server-oauth.ts';
import { TokenKeeper } from './token-keeper.ts';
import { sharedOwner } from './vault-records.ts';

/** @internal How a server is connected, given its `auth`. */
export type Attachment =
  | { readonly kind: 'shared'; readonly fetch: FetchLike | undefined }
  | { readonly kind: 'per-user'; readonly status: McpServerStatus };

/**
 * @internal Sets up a server's OAuth: per user (`oauth`, `token_exchange`: sessions open per user
 * on demand, nothing connects now), or one shared session whose fetch carries the machine token
 * (`client_credentials`). A server without `auth` is left as it is.
 */
export function attachOAuth(
  config: ResolvedServerConfig,
  context: {
    readonly oauthServers: OAuthServers;
    readonly options: Omit<ConnectionOptions, 'fetch'>;
    /** The fetch of the server's MCP endpoint. */
    readonly fetch: FetchLike;
    /** The fetch of its authorization server's endpoints. */
    readonly oauthFetch: FetchLike;
    readonly secretInVault: boolean;
    readonly clientName: string;
    readonly now: () => number;
  },
): Attachment {
  const settings = context.oauthServers.settings;
  if (config.transport === 'stdio' || config.auth === undefined || settings === undefined)
    return { kind: 'shared', fetch: undefined };
  const target = new ServerOAuth({
    server: config.name,
    serverUrl: config.url,
    auth: config.auth,
    settings,
    clientName: context.clientName,
    fetch: context.oauthFetch,
    secretInVault: context.secretInVault,
    now: context.now,
  });
  if (config.auth.type === 'client_credentials')
    return {
      kind: 'shared',
      fetch: createBearerFetch(target, new TokenKeeper(target), sharedOwner, context.fetch),
    };
  context.oauthServers.add(new PerUserServer(config, target, context.options, context.fetch));
  return {
    kind: 'per-user',
    status: {
      name: config.name,
      transport: config.transport,
      state: 'connected',
      circuit: 'closed',
      tools: 0,
      catalogVersion: 0,
      reconnects: 0,
    },
  };
}
