import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Assistant } from '@steward/core';
import { createOpenAIModel } from '@steward/core/openai';
import { startGmailServer } from '@steward/example-mcp-gmail';
import {
  createMcpRegistry,
  createServiceTokenSigner,
  type McpRegistrationPolicy,
  type McpRegistry,
} from '@steward/mcp';
import { type MockOpenAIServer, startMockOpenAI } from '@steward/testing';
import { type Authenticator, attachWebSocket, createJwtAuth, createStewardApi } from '@steward/transport-ws';
import type { Express } from 'express';
import { SignJWT } from 'jose';
import { createHostApp } from './frontend/app.ts';
import { createWebSessionStore, type SessionStoreOptions } from './frontend/session-store.ts';
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
  /** @internal The clock sessions are timed by (tests move it). */
  _internal?: { now?: () => number };
  /**
   * What admins may register through `POST /api/v1/tools/register`: the registry's
   * `registrations` policy (origins, non-public networks). Default: nothing. The Gmail mock is
   * the operator's own server, configured in code, and needs no entry here.
   */
  mcpRegistrations?: McpRegistrationPolicy;
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
  /** A user JWT for the API, as an OIDC provider would issue one (HS256 with the JWT secret). */
  userToken(userId: string): Promise<string>;
  stop(): Promise<void>;
}

const randomSecret = () => randomBytes(32).toString('base64url');

/**
 * Starts the architecture document's system in one process, offline: the mock OpenAI server
 * playing a model that uses Gmail, the Gmail mock MCP server (service JWTs required), the MCP
 * registry connected to it over Streamable HTTP with GMAIL_FETCH_EMAILS trusted as read-only,
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

    // Orchestrator ↔ MCP: a signed service JWT on every request, checked by the Gmail mock. The
    // mock is the operator's server, configured here in code: its loopback address needs no
    // allowlist entry, and its tokens name its origin, which is the audience the mock expects.
    const serviceKey = randomSecret();
    const gmail = await startGmailServer({ auth: { secret: serviceKey, issuer: 'steward' } });
    cleanups.push(() => gmail.stop());
    const registry = createMcpRegistry({
      servers: [
        {
          name: 'gmail',
          transport: 'streamable-http',
          url: gmail.mcpUrl,
          // Reading mail runs without asking; every other Gmail tool (sending) needs consent.
          readOnlyTools: ['GMAIL_FETCH_EMAILS'],
          serviceAuth: {},
        },
      ],
      serviceAuth: { signer: createServiceTokenSigner({ issuer: 'steward', key: serviceKey }) },
      ...(options.mcpRegistrations === undefined ? {} : { registrations: options.mcpRegistrations }),
    });
    cleanups.push(() => registry.close());
    await registry.ready();
    const status = registry.status().find((server) => server.name === 'gmail');
    if (status?.state !== 'connected')
      throw new Error(`The Gmail MCP server did not connect: ${status?.lastError ?? status?.state}`);

    const assistant = new Assistant({
      model: createOpenAIModel({ model: 'gpt-4.1-mini', baseURL: model.baseURL, apiKey: 'mock-key' }),
      tools: [registry],
      system: 'You are a concise email assistant. Read mail freely; sending mail needs the user’s approval.',
    });
    cleanups.push(async () => assistant.close());

    const jwtSecret = options.jwtSecret ?? randomSecret();
    const auth = createJwtAuth({ secret: jwtSecret });
    const api = createStewardApi({ assistant, auth, tools: registry });
    const now = options._internal?.now;
    const sessionStore = await createWebSessionStore(
      options.sessions?.store,
      now === undefined ? {} : { now },
    );
    cleanups.push(() => sessionStore.close());
    const app = createHostApp({
      assistant,
      auth,
      api,
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
    const server = createServer(app);
    const detach = attachWebSocket(server, api);
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
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const key = new TextEncoder().encode(jwtSecret);

    return {
      url: `http://${host}:${address.port}`,
      app,
      assistant,
      auth,
      registry,
      gmail,
      model,
      userToken: (userId) =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
          .setSubject(userId)
          .setIssuedAt()
          .setExpirationTime('1h')
          .sign(key),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
