import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Assistant, createInMemoryVaultStore, type Storage, type VaultStore } from '@steward/core';
import { createOpenAIModel } from '@steward/core/openai';
import type { IdentityProvider } from '@steward/example-identity-provider';
import { startGmailServer } from '@steward/example-mcp-gmail';
import {
  createMcpRegistry,
  createServiceTokenSigner,
  type McpRegistrationPolicy,
  type McpRegistry,
  type McpServerRegistration,
} from '@steward/mcp';
import { createPostgresStorage, createPostgresVaultStore } from '@steward/storage-postgres';
import { type MockOpenAIServer, startMockOpenAI } from '@steward/testing';
import { type Authenticator, attachWebSocket, createJwtAuth, createStewardApi } from '@steward/transport-ws';
import type { Express } from 'express';
import { SignJWT } from 'jose';
import type { Logger } from 'pino';
import { type CalendarServer, startCalendarServer } from './calendar-server.ts';
import { type DeskServer, startDeskServer } from './desk-server.ts';
import { createHostApp } from './frontend/app.ts';
import { createInProcessBackend } from './frontend/backend.ts';
import type { HostConnections } from './frontend/connection-routes.ts';
import { createWebSessionStore, type SessionStoreOptions } from './frontend/session-store.ts';
import { createInMemoryHostStore, type HostStore } from './identity/host-store.ts';
import { createOidcSignIn } from './identity/oidc.ts';
import { createPostgresHostStore } from './identity/postgres-host-store.ts';
import {
  createHostVault,
  createVaultRefreshTokenStore,
  type RefreshTokenStore,
} from './identity/refresh-tokens.ts';
import { type HostOidcOption, setUpSignIn } from './identity/sign-in-setup.ts';
import { createRequestLog, logRuns } from './logging.ts';
import { createRegistryConnections } from './registry-connections.ts';
import { gmailModelReply } from './scripted-model.ts';

/** Options of {@link startExpressHost}. Every secret defaults to a random one per process. */
export interface ExpressHostOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Delay between the mock model's streamed chunks, so a browser visibly streams. Default 20 ms. */
  chunkDelayMs?: number;
  /** Signs session cookies and CSRF tokens. */
  sessionSecret?: string;
  /** Signs user JWTs and run tokens (`createJwtAuth`). */
  jwtSecret?: string;
  /** Default `'auto'` (Secure over HTTPS); see `createHostApp`. */
  secureCookies?: boolean | 'auto';
  /** Express's `trust proxy`, for a host behind a TLS-terminating proxy. Default none. */
  trustProxy?: boolean | number | string;
  /** Where web sessions live (default memory) and how long they last (30 minutes idle, 8 hours in all). */
  sessions?: { store?: SessionStoreOptions; idleMs?: number; absoluteMs?: number };
  /** How long a form post without script waits for the answer. Default 20,000 ms. */
  formWaitMs?: number;
  /** JSON logs (pino, see logging.ts): a line per request and per run milestone. Default: none. */
  logger?: Logger;
  /** @internal The clock sessions are timed by (tests move it). */
  _internal?: { now?: () => number };
  /**
   * What admins may register through `POST /api/v1/tools/register`: the registry's
   * `registrations` policy (origins, non-public networks). Default: the demo calendar's origin
   * and address (see `demoCalendar`), nothing else. The Gmail mock is the operator's own server,
   * configured in code, and needs no entry here.
   */
  mcpRegistrations?: McpRegistrationPolicy;
  /**
   * Sign-in: `'built-in'` (the default) starts the demo identity provider in this process (alice,
   * bob and admin); OIDC options sign in with any other provider; `false` turns OIDC off (only
   * the development sign-in, if on, remains).
   */
  oidc?: HostOidcOption;
  /** The development sign-in: any name, no password. Only behind this explicit flag. Default false. */
  devSignIn?: boolean;
  /** PostgreSQL for Steward's storage and the host's users and conversation lists. Default: memory. */
  databaseUrl?: string;
  /** `STEWARD_VAULT_KEYS`: the keys of the token vault that keeps refresh tokens (needed with `databaseUrl`). */
  vaultKeys?: string;
  /** Start the demo calendar MCP server, for admins to register from the page. Default true. */
  demoCalendar?: boolean;
  /** Start and register the office MCP server, whose tools ask the user (elicitation). Default true. */
  demoDesk?: boolean;
  /** Where OIDC refresh tokens are kept. Default: encrypted in this process's memory. */
  refreshTokens?: RefreshTokenStore;
  /**
   * How the Gmail mock is protected. `'oauth'` (the default): its own authorization server, and
   * each user connects their own mailbox (alice or bob at the mock's sign-in page) the first time
   * a run needs it; the registry is the OAuth client, tokens go to the host's vault. `'service-jwt'`:
   * the orchestrator signs a service JWT and every user reads the same mailbox (no connecting).
   */
  gmailAuth?: 'oauth' | 'service-jwt';
  /**
   * The origin browsers open the pages at, when it is not the listening address (e.g.
   * `http://localhost:3000` for a host on 127.0.0.1): the OAuth callback must come back to the
   * origin whose session cookie the browser holds. Default: the listening address.
   */
  publicUrl?: string;
  /**
   * Users connecting their accounts on OAuth MCP servers (the pages' Connect and callback).
   * Default: the registry's own, over the Gmail mock in OAuth mode (none with `'service-jwt'`).
   */
  connections?: HostConnections;
}

/** The running system: the pages and API on one port, the mock model and the Gmail mock beside it. */
export interface ExpressHost {
  /** `http://host:port`: the chat pages, `/api/v1` and `/ws`. */
  readonly url: string;
  readonly app: Express;
  readonly assistant: Assistant;
  readonly auth: Authenticator;
  readonly registry: McpRegistry;
  readonly gmail: Awaited<ReturnType<typeof startGmailServer>>;
  readonly model: MockOpenAIServer;
  /** The demo calendar MCP server (unregistered until an admin registers it), when started. */
  readonly calendar?: CalendarServer;
  /** The office MCP server (registered as `desk`), whose tools ask the user for input, when started. */
  readonly desk?: DeskServer;
  /** The built-in identity provider, when it runs. */
  readonly identityProvider?: IdentityProvider;
  readonly store: HostStore;
  readonly refreshTokens: RefreshTokenStore;
  /** The pages' connections to OAuth MCP servers, when there are any. */
  readonly connections?: HostConnections;
  /** A user JWT for the API, as an OIDC provider would issue one (HS256 with the JWT secret). */
  userToken(userId: string, roles?: readonly string[]): Promise<string>;
  stop(): Promise<void>;
}

const randomSecret = () => randomBytes(32).toString('base64url');

/**
 * Starts the architecture document's system in one process, offline: the mock OpenAI server
 * playing a model that uses Gmail, the Gmail mock MCP server (in OAuth mode by default: each
 * user connects their own mailbox; see `gmailAuth`), the MCP registry connected to it over
 * Streamable HTTP with GMAIL_FETCH_EMAILS trusted as read-only,
 * an `Assistant` with in-memory storage, and one Express app serving the chat pages, the
 * orchestrator API (`/api/v1`) and the run WebSocket (`/ws`).
 */
export async function startExpressHost(options: ExpressHostOptions = {}): Promise<ExpressHost> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    // Last started, first stopped; a second call finds nothing left to do.
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };
  try {
    const model = await startMockOpenAI({ reply: gmailModelReply, chunkDelayMs: options.chunkDelayMs ?? 20 });
    cleanups.push(() => model.close());

    // Orchestrator ↔ MCP. The Gmail mock is the operator's server, configured here in code: its
    // loopback address needs no allowlist entry. In OAuth mode it is also the authorization
    // server whose pages users sign in to their own mailbox on; otherwise it checks a signed
    // service JWT naming its origin on every request. The desk server is open.
    const serviceKey = randomSecret();
    const gmailOAuth = (options.gmailAuth ?? 'oauth') === 'oauth';
    // In OAuth mode the mock is also the authorization server: its pages are where users sign in
    // to their mailbox and consent.
    const gmail = await startGmailServer({
      auth: gmailOAuth ? { oauth: {} } : { secret: serviceKey, issuer: 'steward' },
    });
    cleanups.push(() => gmail.stop());
    const calendar = options.demoCalendar === false ? undefined : await startCalendarServer();
    if (calendar !== undefined) cleanups.push(() => calendar.stop());
    const desk = options.demoDesk === false ? undefined : await startDeskServer();
    if (desk !== undefined) cleanups.push(() => desk.stop());
    // Admins may register the demo calendar (a loopback server, so its address is allowed too).
    const policy: McpRegistrationPolicy =
      options.mcpRegistrations ??
      (calendar === undefined
        ? {}
        : { allowedOrigins: [new URL(calendar.mcpUrl).origin], allowedNetworks: ['127.0.0.1'] });
    let storage: Storage | undefined;
    let store: HostStore;
    let vaultStore: VaultStore = createInMemoryVaultStore();
    if (options.databaseUrl === undefined) store = createInMemoryHostStore();
    else {
      const postgres = createPostgresStorage({ connectionString: options.databaseUrl });
      cleanups.push(() => postgres.close());
      await postgres.migrate();
      storage = postgres;
      vaultStore = createPostgresVaultStore(postgres);
      store = await createPostgresHostStore({ url: options.databaseUrl });
    }
    cleanups.push(() => store.close());
    // One vault for the sign-in's refresh tokens and the MCP servers' OAuth tokens.
    const vault = createHostVault(vaultStore, {
      ...(options.vaultKeys === undefined ? {} : { keys: options.vaultKeys }),
      durable: options.databaseUrl !== undefined,
    });
    const refreshTokens = options.refreshTokens ?? createVaultRefreshTokenStore(vault);

    // Listen first: the sign-in's and the OAuth callback's redirect URIs name the port.
    let app: Express | undefined;
    const requestLog = options.logger === undefined ? undefined : createRequestLog(options.logger);
    const server = createServer((request, response) => {
      requestLog?.(request, response);
      if (app === undefined) response.writeHead(503).end();
      else app(request, response);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    let detach: () => Promise<void> = async () => {};
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

    const signer = createServiceTokenSigner({ issuer: 'steward', key: serviceKey });
    const registry = createMcpRegistry({
      servers: [
        {
          name: 'gmail',
          transport: 'streamable-http',
          url: gmail.mcpUrl,
          // Reading mail runs without asking; every other Gmail tool (sending) needs consent.
          readOnlyTools: ['GMAIL_FETCH_EMAILS'],
          // Per user: each connects their own mailbox. Both scopes at once, so sending (which
          // still needs the user's approval of each email) does not ask to connect again.
          ...(gmailOAuth
            ? { auth: { type: 'oauth' as const, scopes: ['gmail.readonly', 'gmail.send'] } }
            : { serviceAuth: {} }),
        },
        ...(desk === undefined
          ? []
          : [
              {
                name: 'desk',
                transport: 'streamable-http' as const,
                url: desk.mcpUrl,
                // Its tools ask the user themselves (a form, a page to confirm on): that answer is the consent.
                readOnlyTools: ['find_desk', 'reserve_parking'],
              },
            ]),
      ],
      serviceAuth: { signer },
      registrations: policy,
      ...(gmailOAuth
        ? {
            oauth: {
              vault,
              redirectUrl: `${options.publicUrl ?? url}/connections/callback`,
              clientName: 'Steward (Express host demo)',
            },
          }
        : {}),
    });
    cleanups.push(() => registry.close());
    await registry.ready();
    const status = registry.status().find((server) => server.name === 'gmail');
    // A per-user server connects per user, later; only the shared one must be up now.
    if (!gmailOAuth && status?.state !== 'connected')
      throw new Error(`The Gmail MCP server did not connect: ${status?.lastError ?? status?.state}`);

    const assistant = new Assistant({
      model: createOpenAIModel({ model: 'gpt-4.1-mini', baseURL: model.baseURL, apiKey: 'mock-key' }),
      tools: [registry],
      ...(storage === undefined ? {} : { storage }),
      system: 'You are a concise email assistant. Read mail freely; sending mail needs the user’s approval.',
    });
    cleanups.push(async () => assistant.close());
    if (options.logger !== undefined) logRuns(assistant, options.logger);

    const jwtSecret = options.jwtSecret ?? randomSecret();
    const auth = createJwtAuth({ secret: jwtSecret });
    const api = createStewardApi({ assistant, auth, tools: registry });
    detach = attachWebSocket(server, api);
    const connections =
      options.connections ?? (gmailOAuth ? createRegistryConnections(registry, assistant) : undefined);
    const key = new TextEncoder().encode(jwtSecret);
    const userToken = (userId: string, roles: readonly string[] = []) =>
      new SignJWT(roles.length === 0 ? {} : { roles: [...roles] })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(key);
    const now = options._internal?.now;
    const sessionStore = await createWebSessionStore(
      options.sessions?.store,
      now === undefined ? {} : { now },
    );
    cleanups.push(() => sessionStore.close());

    const { identityProvider, oidcOptions } = await setUpSignIn(options.oidc, origins, cleanups);

    const probeTimeoutMs = 5_000;
    app = createHostApp({
      backend: createInProcessBackend(assistant, auth),
      api,
      callApi: async (userId, roles, path, body) =>
        api.fetch(
          new Request(`${url}${path}`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${await userToken(userId, roles)}`,
              'content-type': 'application/json',
            },
            body: JSON.stringify(body),
          }),
        ),
      registry,
      testServer: async (registration) => {
        if (registry.status().some((server) => server.name === registration.name))
          throw Object.assign(new Error('A server of that name is registered already'), {
            details: { issues: [{ path: ['name'], message: 'is taken by a registered server' }] },
          });
        // A throwaway registry under the same policy: the same checks as registering, nothing kept.
        const probe = createMcpRegistry({
          registrations: policy,
          serviceAuth: { signer },
          connectTimeoutMs: probeTimeoutMs,
        });
        try {
          await probe.register(registration as unknown as McpServerRegistration);
          const probed = probe.status()[0];
          if (probed?.state !== 'connected')
            throw new Error(`Could not connect: ${probed?.lastError ?? 'no answer'}`);
          return await probe.listTools();
        } finally {
          await probe.close();
        }
      },
      allowedOrigins: policy.allowedOrigins ?? [],
      store,
      refreshTokens,
      ...(oidcOptions === undefined ? {} : { oidc: createOidcSignIn(oidcOptions) }),
      devSignIn: options.devSignIn ?? false,
      ...(connections === undefined
        ? {}
        : { connections, connectionOrigins: () => (gmailOAuth ? [new URL(gmail.url).origin] : []) }),
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
      app,
      assistant,
      auth,
      registry,
      gmail,
      model,
      ...(calendar === undefined ? {} : { calendar }),
      ...(desk === undefined ? {} : { desk }),
      ...(identityProvider === undefined ? {} : { identityProvider }),
      store,
      refreshTokens,
      ...(connections === undefined ? {} : { connections }),
      userToken,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
