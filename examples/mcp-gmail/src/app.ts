import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { hostnameOf, loopbackHostnames, protectFromDnsRebinding } from './dns-rebinding.ts';
import { type ExecuteErrorCode, Executor, fail } from './execute.ts';
import { Mailbox } from './mailbox.ts';
import { createGmailMcpServer, oauthPrincipal } from './mcp-server.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import type { GmailOAuthOptions, GmailServerOAuthOptions } from './oauth/options.ts';
import { createGmailOAuth, type GmailOAuth } from './oauth/server.ts';
import { type GmailAuthOptions, type GmailServerAuthOptions, requireServiceToken } from './service-auth.ts';
import { gmailTools } from './tools.ts';
import { continueTrace } from './tracing.ts';

/** How callers authenticate: service JWTs (Steward's own), or OAuth access tokens from the mock's own authorization server. */
export type GmailAppAuthOptions = GmailAuthOptions | { oauth: GmailOAuthOptions };

/** {@link GmailAppAuthOptions} for `startGmailServer`, where URLs default to the server's. */
export type GmailServerAuthMode = GmailServerAuthOptions | { oauth: GmailServerOAuthOptions };

/** The MCP endpoints: DNS rebinding protection and the token check cover them, and only them. */
const mcpPaths = ['/mcp', '/.well-known/mcp'];

/** The Gmail mock's HTTP app and the state behind it. */
export interface GmailApp {
  readonly app: Express;
  readonly mailbox: Mailbox;
  readonly metrics: Metrics;
  /** The OAuth mode's authorization server, when it is on. */
  readonly oauth: GmailOAuth | undefined;
  /** Closes every MCP session. */
  close(): Promise<void>;
  /** @internal Closes the sessions idle for `sessionIdleMs` now, as the periodic sweep does; returns how many. */
  sweepIdleSessions(): number;
}

/** The seed's discovery document: server metadata, allowed tools and each tool's JSON Schema. */
export function discoveryDocument() {
  return {
    name: 'gmail-mock',
    version: '1.0.0',
    description: 'A mock Gmail MCP server with a deterministic mailbox',
    protocols: { mcp: '/mcp', execute: '/mcp/execute' },
    allowed_tools: gmailTools.map((tool) => tool.slug),
    tools: gmailTools.map((tool) => ({
      tool_slug: tool.slug,
      description: tool.description,
      input_schema: tool.inputSchema,
      annotations: tool.annotations,
    })),
  };
}

/** Options of {@link createGmailApp}. */
export interface GmailAppOptions {
  /** MCP sessions idle this long are closed. Default 30 minutes. */
  sessionIdleMs?: number;
  /**
   * Require a service JWT, or (`{ oauth }`) an access token from the mock's own authorization
   * server, on every MCP and discover/execute request. Without it the mock is open to anyone who
   * can reach it: for local development only.
   */
  auth?: GmailAppAuthOptions;
  /**
   * Host names (no port) the MCP endpoints answer to, besides localhost, 127.0.0.1 and [::1]:
   * any other `Host` gets 403 (DNS rebinding protection).
   */
  allowedHosts?: readonly string[];
  /** Origins of browser pages allowed to call the MCP endpoints; a request with any other `Origin` gets 403. */
  allowedOrigins?: readonly string[];
  /** @internal The clock idle sessions are timed by (tests move it). */
  _internal?: { now?: () => number };
}

/**
 * Builds the server: MCP over Streamable HTTP at `/mcp` (stateful sessions), the plain-HTTP
 * contract at `/mcp/discover`, `/.well-known/mcp` and `/mcp/execute`, and `/healthz`, `/metrics`
 * (always open, for probes and scrapers).
 */
export function createGmailApp(mailbox = new Mailbox(), options: GmailAppOptions = {}): GmailApp {
  const now = options._internal?.now ?? Date.now;
  const { auth } = options;
  // First, so bad OAuth options throw before anything is started.
  const oauth =
    auth !== undefined && 'oauth' in auth
      ? createGmailOAuth(auth.oauth, { mailboxes: mailbox.owners(), now })
      : undefined;
  const metrics = createMetrics(mailbox);
  const executor = new Executor(mailbox, metrics);
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  // In the OAuth mode a session belongs to the client and user that opened it (the MCP
  // specification's session hijacking advice): anyone else is told it does not exist.
  const owners = new Map<string, string>();
  const ownerOf = (request: express.Request) => {
    const principal = oauthPrincipal(request.auth);
    return principal === undefined ? '' : `${request.auth?.clientId} ${principal.mailbox}`;
  };
  // Sessions a client never ended are closed after a while, so they cannot pile up.
  const lastSeen = new Map<string, number>();
  const idleMs = options.sessionIdleMs ?? 30 * 60_000;
  const sweepIdleSessions = () => {
    const at = now();
    let closed = 0;
    for (const [id, seen] of lastSeen) {
      if (at - seen < idleMs) continue;
      lastSeen.delete(id);
      owners.delete(id);
      const transport = sessions.get(id);
      sessions.delete(id);
      void transport?.close();
      closed += 1;
    }
    return closed;
  };
  const sweeper = setInterval(sweepIdleSessions, Math.min(idleMs, 60_000));
  sweeper.unref();
  const touch = (id: string) => lastSeen.set(id, now());
  const app = express();
  app.disable('x-powered-by');
  // First of all, in every mode: a page that rebound its domain to us gets nothing, not even a 401.
  app.use(
    mcpPaths,
    ...protectFromDnsRebinding({
      allowedHosts: [...loopbackHostnames, ...(options.allowedHosts ?? [])],
      allowedOrigins: options.allowedOrigins ?? [],
    }),
  );
  if (oauth !== undefined) app.use(oauth.router);
  // Before the body parser, so a caller without a valid token gets nothing parsed or run.
  if (oauth !== undefined) app.use(mcpPaths, oauth.requireToken);
  else if (auth !== undefined && !('oauth' in auth)) app.use(mcpPaths, requireServiceToken(auth));
  app.use(express.json({ limit: '1mb' }));
  app.use(mcpPaths, continueTrace());
  if (oauth !== undefined) app.use('/mcp', oauth.requireToolScopes);

  app.post('/mcp', async (request, response) => {
    const sessionId = request.header('mcp-session-id');
    if (sessionId !== undefined) {
      const transport = owners.get(sessionId) === ownerOf(request) ? sessions.get(sessionId) : undefined;
      if (transport !== undefined) touch(sessionId);
      if (transport === undefined) {
        response
          .status(404)
          .json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
        return;
      }
      await transport.handleRequest(request, response, request.body);
      return;
    }
    if (!isInitializeRequest(request.body)) {
      response.status(400).json({
        jsonrpc: '2.0',
        error: { code: -32000, message: 'No session: send initialize first' },
        id: null,
      });
      return;
    }
    const owner = ownerOf(request);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
        owners.set(id, owner);
        touch(id);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId === undefined) return;
      sessions.delete(transport.sessionId);
      owners.delete(transport.sessionId);
      lastSeen.delete(transport.sessionId);
    };
    await createGmailMcpServer(mailbox, metrics).connect(transport);
    await transport.handleRequest(request, response, request.body);
  });
  const sessionRequest: express.RequestHandler = async (request, response) => {
    const id = request.header('mcp-session-id') ?? '';
    const transport = owners.get(id) === ownerOf(request) ? sessions.get(id) : undefined;
    if (transport !== undefined) touch(id);
    if (transport === undefined) {
      response
        .status(404)
        .json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
      return;
    }
    await transport.handleRequest(request, response);
  };
  app.get('/mcp', sessionRequest);
  app.delete('/mcp', sessionRequest);

  app.get(['/mcp/discover', '/.well-known/mcp'], (_request, response) => {
    response.json(discoveryDocument());
  });
  app.post('/mcp/execute', async (request, response) => {
    // Another format would reach the envelope check as no body at all: say what is wrong instead.
    const sentBody =
      Number(request.headers['content-length'] ?? 0) > 0 ||
      request.headers['transfer-encoding'] !== undefined;
    const outcome =
      sentBody && request.is('application/json') === false
        ? fail(415, null, 'unsupported_media_type', 'Send the execute envelope as application/json')
        : await executor.execute(
            request.body,
            request.header('idempotency-key'),
            oauthPrincipal(request.auth)?.mailbox,
          );
    response
      .status(outcome.status)
      .setHeader('idempotent-replayed', String(outcome.replayed))
      .json(outcome.body);
  });
  app.get('/healthz', (_request, response) => {
    response.json({ status: 'ok', sessions: sessions.size });
  });
  app.get('/metrics', async (_request, response) => {
    response.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  // A body that cannot be read gets a typed 4xx in the endpoint's own shape (JSON-RPC on /mcp,
  // the execute response elsewhere), never a 500 page.
  const onError: ErrorRequestHandler = (error: unknown, request, response, next) => {
    if (response.headersSent) {
      next(error);
      return;
    }
    const refusal = bodyRefusal(error);
    if (refusal === undefined) console.error('gmail mock:', error);
    const { status, code, message } = refusal ?? {
      status: 500,
      code: 'internal_error' as const,
      message: 'Internal error',
    };
    if (request.path === '/mcp') {
      response.status(status).json({
        jsonrpc: '2.0',
        error: { code: code === 'invalid_json' ? -32700 : status === 500 ? -32603 : -32600, message },
        id: null,
      });
      return;
    }
    const outcome = fail(status, null, code, message);
    response.status(outcome.status).json(outcome.body);
  };
  app.use(onError);

  return {
    app,
    mailbox,
    metrics,
    oauth,
    sweepIdleSessions,
    close: async () => {
      clearInterval(sweeper);
      await Promise.all([...sessions.values()].map((transport) => transport.close()));
    },
  };
}

/** What body-parser's errors mean for the caller; `undefined` for anything that is not theirs. */
function bodyRefusal(
  error: unknown,
): { status: number; code: ExecuteErrorCode; message: string } | undefined {
  const { status, type } = error as { status?: unknown; type?: unknown };
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  switch (type) {
    case 'entity.parse.failed':
      return { status: 400, code: 'invalid_json', message: 'The body is not valid JSON' };
    case 'entity.too.large':
      return { status: 413, code: 'body_too_large', message: 'The body is larger than 1 MB' };
    case 'charset.unsupported':
      return { status: 415, code: 'unsupported_charset', message: 'Send the body as UTF-8' };
    case 'encoding.unsupported':
      return { status: 415, code: 'unsupported_media_type', message: 'Unsupported content encoding' };
    default:
      return { status, code: 'invalid_envelope', message: 'The body could not be read' };
  }
}

/** Options of {@link startGmailServer}. */
export interface GmailServerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  mailbox?: Mailbox;
  sessionIdleMs?: number;
  /**
   * As in {@link GmailAppOptions}. For service JWTs the audience defaults to the server's origin
   * (`http://host:port`); in the OAuth mode the issuer to that origin and the resource to
   * `http://host:port/mcp`.
   */
  auth?: GmailServerAuthMode;
  /** As in {@link GmailAppOptions}; the host names of the server's URL, audience, issuer and resource are added. */
  allowedHosts?: readonly string[];
  /** As in {@link GmailAppOptions}. */
  allowedOrigins?: readonly string[];
  /** @internal As in {@link GmailAppOptions}. */
  _internal?: { now?: () => number };
}

/** Starts the app on `port`. */
export async function startGmailServer(options: GmailServerOptions = {}) {
  const host = options.host ?? '127.0.0.1';
  // Listen first: the default audience is the origin, and the port is known only then.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const url = `http://${host}:${(server.address() as AddressInfo).port}`;
  let gmail: GmailApp;
  try {
    const auth = appAuth(options.auth, url);
    // The server is reached at these URLs: their hosts are ours, not a rebinding page's.
    const own = [
      url,
      ...(auth === undefined
        ? []
        : 'oauth' in auth
          ? [auth.oauth.issuer, auth.oauth.resource]
          : [auth.audience]),
    ].filter((value) => URL.canParse(value));
    gmail = createGmailApp(options.mailbox, {
      ...(options.sessionIdleMs === undefined ? {} : { sessionIdleMs: options.sessionIdleMs }),
      ...(auth === undefined ? {} : { auth }),
      allowedHosts: [...own.map(hostnameOf), ...(options.allowedHosts ?? [])],
      allowedOrigins: [
        ...new Set(own.map((value) => new URL(value).origin)),
        ...(options.allowedOrigins ?? []),
      ],
      ...(options._internal === undefined ? {} : { _internal: options._internal }),
    });
  } catch (error) {
    server.close();
    throw error;
  }
  server.on('request', gmail.app);
  return {
    ...gmail,
    url,
    mcpUrl: `${url}/mcp`,
    stop: async () => {
      await gmail.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The auth options with the server's URL filled in where they default to it. */
function appAuth(auth: GmailServerAuthMode | undefined, url: string): GmailAppAuthOptions | undefined {
  if (auth === undefined) return undefined;
  if ('oauth' in auth) {
    const { issuer, resource, ...rest } = auth.oauth;
    return { oauth: { ...rest, issuer: issuer ?? url, resource: resource ?? `${url}/mcp` } };
  }
  // Steward mints service tokens for the origin of the URL it calls: that is our audience.
  return { ...auth, audience: auth.audience ?? new URL(url).origin };
}
