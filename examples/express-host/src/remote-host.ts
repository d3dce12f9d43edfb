import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInMemoryVaultStore, type VaultStore } from '@steward/core';
import type { IdentityProvider } from '@steward/example-identity-provider';
import { createMcpRegistry } from '@steward/mcp';
import { createPostgresStorage, createPostgresVaultStore } from '@steward/storage-postgres';
import { type Authenticator, createJwtAuth } from '@steward/transport-ws';
import type { Express } from 'express';
import { createHostApp } from './frontend/app.ts';
import { createWebSessionStore } from './frontend/session-store.ts';
import type { ExpressHostOptions } from './host.ts';
import { createInMemoryHostStore, type HostStore } from './identity/host-store.ts';
import { createOidcSignIn } from './identity/oidc.ts';
import { createPostgresHostStore } from './identity/postgres-host-store.ts';
import {
  createHostVault,
  createVaultRefreshTokenStore,
  type RefreshTokenStore,
} from './identity/refresh-tokens.ts';
import { type HostOidcOption, setUpSignIn } from './identity/sign-in-setup.ts';
import { fromOrchestrator } from './remote/orchestrator-errors.ts';
import { createRemoteBackend, orchestratorClients } from './remote/remote-backend.ts';
import { attachRunRelay } from './remote/run-relay.ts';
import { createServiceTokenMinter, type ServiceTokenOptions } from './remote/service-tokens.ts';

/** Options of {@link startRemoteExpressHost}: the pages' options, and the orchestrator to forward to. */
export interface RemoteExpressHostOptions
  extends Pick<
    ExpressHostOptions,
    | 'port'
    | 'host'
    | 'sessionSecret'
    | 'jwtSecret'
    | 'secureCookies'
    | 'trustProxy'
    | 'sessions'
    | 'formWaitMs'
    | '_internal'
    | 'oidc'
    | 'devSignIn'
    | 'databaseUrl'
    | 'vaultKeys'
    | 'refreshTokens'
  > {
  /** The orchestrator (`examples/orchestrator`) and the key it trusts the host's service tokens with. */
  orchestrator: { url: string } & ServiceTokenOptions;
}

/** The pages in front of a remote orchestrator. */
export interface RemoteExpressHost {
  /** `http://host:port`: the pages and the run relay (`/ws`). */
  readonly url: string;
  readonly orchestratorUrl: string;
  readonly app: Express;
  /** The host's own authenticator: it signs the run tokens of the page's streams. */
  readonly auth: Authenticator;
  readonly identityProvider?: IdentityProvider;
  readonly store: HostStore;
  readonly refreshTokens: RefreshTokenStore;
  stop(): Promise<void>;
}

const randomSecret = () => randomBytes(32).toString('base64url');

/**
 * The architecture's pattern A: the same pages, sign-in and script as {@link startExpressHost},
 * in front of an orchestrator in another process. Every request the pages make (respond,
 * history, runs, approvals, stop) is forwarded to the orchestrator's API with a short-lived
 * service token that carries the signed-in user, and the page's run WebSocket is relayed from
 * the orchestrator's (`attachRunRelay`). No model, MCP server or Steward storage runs here:
 * the host keeps only its users, their conversation lists and their web sessions.
 */
export async function startRemoteExpressHost(options: RemoteExpressHostOptions): Promise<RemoteExpressHost> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };
  try {
    const { url: orchestratorUrl, ...tokenOptions } = options.orchestrator;
    const serviceTokens = createServiceTokenMinter(tokenOptions);
    const auth = createJwtAuth({ secret: options.jwtSecret ?? randomSecret() });
    const remote = { url: orchestratorUrl, serviceTokens, auth };
    const clientFor = orchestratorClients(remote);

    let store: HostStore;
    let vaultStore: VaultStore = createInMemoryVaultStore();
    if (options.databaseUrl === undefined) store = createInMemoryHostStore();
    else {
      // The host's own tables (users, conversation lists, sealed refresh tokens); Steward's
      // conversations live in the orchestrator's database.
      const postgres = createPostgresStorage({ connectionString: options.databaseUrl });
      cleanups.push(() => postgres.close());
      await postgres.migrate();
      vaultStore = createPostgresVaultStore(postgres);
      store = await createPostgresHostStore({ url: options.databaseUrl });
    }
    cleanups.push(() => store.close());
    const refreshTokens =
      options.refreshTokens ??
      createVaultRefreshTokenStore(
        createHostVault(vaultStore, {
          ...(options.vaultKeys === undefined ? {} : { keys: options.vaultKeys }),
          durable: options.databaseUrl !== undefined,
        }),
      );
    const now = options._internal?.now;
    const sessionStore = await createWebSessionStore(
      options.sessions?.store,
      now === undefined ? {} : { now },
    );
    cleanups.push(() => sessionStore.close());

    let app: Express | undefined;
    const server = createServer((request, response) => {
      if (app === undefined) response.writeHead(503).end();
      else app(request, response);
    });
    const detach = attachRunRelay(server, { auth, clientFor });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    cleanups.push(async () => {
      await detach();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    });
    const address = server.address() as AddressInfo;
    const hostName = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `http://${hostName}:${address.port}`;
    const origins = [...new Set([url, `http://localhost:${address.port}`])];

    const { identityProvider, oidcOptions } = await setUpSignIn(options.oidc, origins, cleanups);

    // The orchestrator's MCP servers are its own: its API lists none, so the Tools page here
    // shows none, and tool cards get titles humanized from the tools' names.
    const registry = createMcpRegistry({});
    cleanups.push(() => registry.close());
    app = createHostApp({
      backend: createRemoteBackend(remote),
      callApi: async (userId, roles, path, body) => {
        try {
          return await fetch(new URL(path, orchestratorUrl), {
            method: 'POST',
            headers: {
              authorization: `Bearer ${await serviceTokens(userId, roles)}`,
              'content-type': 'application/json',
            },
            body: JSON.stringify(body),
          });
        } catch (error) {
          throw fromOrchestrator(error);
        }
      },
      registry,
      testServer: async () => {
        throw new Error(
          'Testing a connection happens on the orchestrator, which has no such route: register the server to try it',
        );
      },
      allowedOrigins: [],
      store,
      refreshTokens,
      ...(oidcOptions === undefined ? {} : { oidc: createOidcSignIn(oidcOptions) }),
      devSignIn: options.devSignIn ?? false,
      sessionSecret: options.sessionSecret ?? randomSecret(),
      sessionStore: sessionStore.store,
      ...(options.sessions?.idleMs === undefined ? {} : { sessionIdleMs: options.sessions.idleMs }),
      ...(options.sessions?.absoluteMs === undefined
        ? {}
        : { sessionAbsoluteMs: options.sessions.absoluteMs }),
      ...(options.secureCookies === undefined ? {} : { secureCookies: options.secureCookies }),
      ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
      ...(now === undefined ? {} : { _internal: { now } }),
      ...(options.formWaitMs === undefined ? {} : { formWaitMs: options.formWaitMs }),
    });

    return {
      url,
      orchestratorUrl,
      app,
      auth,
      ...(identityProvider === undefined ? {} : { identityProvider }),
      store,
      refreshTokens,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
