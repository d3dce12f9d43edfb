import { fileURLToPath } from 'node:url';
import { isStewardError, type ToolDefinition } from '@steward/core';
import type { McpRegistry } from '@steward/mcp';
import { type StewardApi, toNodeHandler } from '@steward/transport-ws';
import cookieParser from 'cookie-parser';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type session from 'express-session';
import type { HostStore } from '../identity/host-store.ts';
import type { OidcSignIn } from '../identity/oidc.ts';
import type { RefreshTokenStore } from '../identity/refresh-tokens.ts';
import { OrchestratorUnavailableError } from '../remote/orchestrator-errors.ts';
import { createAccountRoutes } from './account-routes.ts';
import { createAuthRoutes } from './auth-routes.ts';
import type { ChatBackend } from './backend.ts';
import { createChatRoutes } from './chat-routes.ts';
import { createConnectionRoutes, type HostConnections } from './connection-routes.ts';
import type { FormErrorCode } from './form-body.ts';
import { createInputRoutes } from './input-routes.ts';
import { MemorySessionStore } from './memory-session-store.ts';
import { createRouteKit } from './route-kit.ts';
import { createWebSessions, SessionStoreUnavailableError } from './session.ts';
import { createToolsRoutes } from './tools-routes.ts';
import { messagePage } from './views.ts';

/** Options of {@link createHostApp}. */
export interface HostAppOptions {
  /** What the pages ask of the orchestrator (in process, or pattern A over its API). */
  backend: ChatBackend;
  /** The orchestrator API (`createStewardApi`), served under `/api/v1`; absent when the orchestrator is remote. */
  api?: StewardApi;
  /** Sends a request to the orchestrator API as a user (the admin form registers servers through it). */
  callApi: (userId: string, roles: readonly string[], path: string, body: unknown) => Promise<Response>;
  /** The MCP servers, for the Tools page and the tools' titles. */
  registry: McpRegistry;
  /** Connects to a registration without keeping it and lists its tools (the admin form's "test connection"). */
  testServer: (registration: Record<string, unknown>) => Promise<readonly ToolDefinition[]>;
  /** The origins admins may register, shown on the form. */
  allowedOrigins: readonly string[];
  /** Users and conversation lists. */
  store: HostStore;
  /** Where OIDC refresh tokens are kept, server-side. */
  refreshTokens: RefreshTokenStore;
  /** OpenID Connect sign-in; without it only the development sign-in (if on) signs anyone in. */
  oidc?: OidcSignIn;
  /** The development sign-in (any name, no password). Default false. */
  devSignIn?: boolean;
  /**
   * Users connecting their own accounts on OAuth-protected MCP servers: the chat's "Connect"
   * cards, the callback (`/connections/callback`, the registry's `redirectUrl`) and the Tools
   * page's Connect and Disconnect. Default: none.
   */
  connections?: HostConnections;
  /** Origins the browser may be sent to from a form (the OAuth servers' authorization pages). */
  connectionOrigins?: () => readonly string[];
  /** Signs the session cookie and the CSRF tokens; at least 32 characters. */
  sessionSecret: string;
  /** Where sessions live (`createWebSessionStore`). Default: this process's memory. */
  sessionStore?: session.Store;
  /** A session unused this long ends. Default 30 minutes. */
  sessionIdleMs?: number;
  /** A session ends this long after sign-in, however active. Default 8 hours. */
  sessionAbsoluteMs?: number;
  /**
   * Mark cookies Secure. Default `'auto'`: when the request came over HTTPS, directly or through
   * a proxy trusted with `trustProxy`. `true` never sets them over plain HTTP (sign-in then only
   * works over HTTPS); `false` never marks them.
   */
  secureCookies?: boolean | 'auto';
  /** Express's `trust proxy`: which proxies' `X-Forwarded-Proto` and `-For` to believe. Default none. */
  trustProxy?: boolean | number | string;
  /** How long a form post without script waits for the answer before redirecting. Default 20,000 ms. */
  formWaitMs?: number;
  /** @internal The clock sessions are timed by (tests move it). */
  _internal?: { now?: () => number };
}

/**
 * Headers for every page and file: no framing, no sniffing, scripts and styles from this origin
 * only; forms post here, or redirect on to the identity provider (sign-in and sign-out).
 */
const pageHeaders =
  (formOrigins: () => readonly string[]): RequestHandler =>
  (request, response, next) => {
    const host = request.headers.host ?? '';
    // The page's script opens a WebSocket to this same host.
    const socket = /^[a-zA-Z0-9.:[\]-]+$/.test(host) ? ` ws://${host} wss://${host}` : '';
    const forms = formOrigins()
      .map((origin) => ` ${origin}`)
      .join('');
    response.setHeader(
      'content-security-policy',
      `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'${socket}; form-action 'self'${forms}; frame-ancestors 'none'; base-uri 'none'`,
    );
    response.setHeader('x-content-type-options', 'nosniff');
    response.setHeader('referrer-policy', 'same-origin');
    next();
  };

/**
 * What an error that reached the end of the chain means for the caller: the body parser's and
 * CSRF refusals keep their 4xx with a code of their own, Steward's errors map to their status,
 * and anything else is a 500 that says nothing of its cause.
 */
function describeError(error: unknown): { status: number; code: FormErrorCode; message: string } {
  if (error instanceof SessionStoreUnavailableError)
    return { status: 503, code: 'sessions_unavailable', message: error.message };
  if (error instanceof OrchestratorUnavailableError)
    return { status: 503, code: 'orchestrator_unavailable', message: error.message };
  if (isStewardError(error)) {
    if (error.code === 'not_found') return { status: 404, code: 'not_found', message: 'Not found' };
    if (error.code === 'invalid_input')
      return { status: 400, code: 'invalid_request', message: 'The request is not valid.' };
    if (error.code === 'storage_error')
      return { status: 503, code: 'internal_error', message: 'Storage is unavailable; try again shortly.' };
  }
  const failure = error as { status?: unknown; code?: unknown; type?: unknown; message?: unknown };
  if (failure.code === 'EBADCSRFTOKEN')
    return {
      status: 403,
      code: 'invalid_csrf_token',
      message: 'The form expired or did not come from this site. Reload the page and try again.',
    };
  if (typeof failure.status === 'number' && failure.status >= 400 && failure.status < 500) {
    const status = failure.status;
    const code: FormErrorCode =
      status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : 'invalid_request';
    const messages: Partial<Record<string, string>> = {
      'entity.too.large': 'The form is too large.',
      'parameters.too.many': 'The form has too many fields.',
      'charset.unsupported': 'Send the form as UTF-8.',
      'encoding.unsupported': 'Send the form without a content encoding.',
    };
    const message = (typeof failure.type === 'string' ? messages[failure.type] : undefined) ?? 'Bad request.';
    return { status, code, message };
  }
  return { status: 500, code: 'internal_error', message: 'Something went wrong on our side.' };
}

/**
 * The Flask side of the architecture as one Express app: the server-rendered login and chat
 * pages (server-side sessions, CSRF-protected forms), the static script that streams runs over
 * the WebSocket with a run token (pattern B), and the orchestrator API under `/api/v1`. Attach
 * the WebSocket with `attachWebSocket(server, api)`.
 */
export function createHostApp(options: HostAppOptions): Express {
  if (options.sessionSecret.length < 32) throw new Error('createHostApp: sessionSecret needs 32+ characters');
  const app = express();
  app.disable('x-powered-by');
  if (options.trustProxy !== undefined) app.set('trust proxy', options.trustProxy);

  // Only the API's own paths go through its handler (which wraps each request in a Web
  // `Request`); pages, forms and static files go straight to the routes below.
  if (options.api !== undefined) {
    const apiHandler = toNodeHandler(options.api);
    app.use((request, response, next) => {
      if (request.path.startsWith('/api/')) apiHandler(request, response, next);
      else next();
    });
  }

  app.use(
    pageHeaders(() => [...(options.oidc?.formOrigins() ?? []), ...(options.connectionOrigins?.() ?? [])]),
  );
  const favicon = fileURLToPath(new URL('../../public/favicon.svg', import.meta.url));
  app.get('/favicon.ico', (_request, response) => {
    response.type('image/svg+xml').sendFile(favicon, { maxAge: '1d' });
  });
  app.use(
    '/static',
    express.static(fileURLToPath(new URL('../../public', import.meta.url)), { index: false, maxAge: '5m' }),
  );
  app.use(cookieParser());
  const now = options._internal?.now ?? Date.now;
  const sessions = createWebSessions({
    secret: options.sessionSecret,
    store: options.sessionStore ?? new MemorySessionStore({ now }),
    secure: options.secureCookies ?? 'auto',
    idleMs: options.sessionIdleMs ?? 30 * 60_000,
    absoluteMs: options.sessionAbsoluteMs ?? 8 * 60 * 60_000,
    now,
  });
  app.use(...sessions.middleware);
  const kit = createRouteKit(sessions);
  const toolTitles = async () => {
    const titles: Record<string, string> = {};
    for (const tool of await options.registry.listTools().catch(() => [])) {
      const title = tool.annotations?.title;
      if (typeof title === 'string' && title !== '') titles[tool.name] = title;
    }
    return titles;
  };
  const { backend, store, refreshTokens } = options;
  app.use(
    createAuthRoutes({
      kit,
      oidc: options.oidc,
      devSignIn: options.devSignIn ?? false,
      store,
      refreshTokens,
    }),
    createChatRoutes({ kit, backend, store, formWaitMs: options.formWaitMs ?? 20_000, toolTitles }),
    createInputRoutes({ kit, backend, formWaitMs: options.formWaitMs ?? 20_000 }),
    createAccountRoutes({ kit, backend, store, refreshTokens, toolTitles }),
    createToolsRoutes({
      kit,
      registry: options.registry,
      callApi: options.callApi,
      testServer: options.testServer,
      allowedOrigins: options.allowedOrigins,
      ...(options.connections === undefined ? {} : { connections: options.connections }),
    }),
  );
  if (options.connections !== undefined)
    app.use(createConnectionRoutes({ kit, connections: options.connections }));

  app.use((_request, response) => {
    response.status(404).type('html').send(messagePage('Not found', 'There is no page here.'));
  });
  const onError: ErrorRequestHandler = (error: unknown, request, response, next) => {
    if (response.headersSent) {
      next(error);
      return;
    }
    const { status, code, message } = describeError(error);
    if (status >= 500) console.error('express-host:', error);
    if (request.accepts(['html', 'json']) === 'json') {
      response.status(status).json({ error: { code, message } });
      return;
    }
    response
      .status(status)
      .type('html')
      .send(
        messagePage(
          code === 'invalid_csrf_token'
            ? 'Form expired'
            : status === 503
              ? 'Unavailable right now'
              : 'Request refused',
          message,
        ),
      );
  };
  app.use(onError);
  return app;
}
