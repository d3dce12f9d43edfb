import { fileURLToPath } from 'node:url';
import { type Assistant, isStewardError } from '@steward/core';
import { type Authenticator, type StewardApi, toNodeHandler } from '@steward/transport-ws';
import cookieParser from 'cookie-parser';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { createChatRoutes } from './chat-routes.ts';
import { messagePage } from './pages.ts';
import { createSessionCookies } from './session.ts';

/** Options of {@link createHostApp}. */
export interface HostAppOptions {
  assistant: Assistant;
  auth: Authenticator;
  /** The orchestrator API (`createStewardApi`), served under `/api/v1`. */
  api: StewardApi;
  /** Signs the session cookie and the CSRF tokens; at least 32 characters. */
  sessionSecret: string;
  /**
   * Mark cookies Secure. Default true: browsers keep Secure cookies from `http://localhost`
   * (a secure context); turn it off only to serve plain HTTP under another name.
   */
  secureCookies?: boolean;
  /** How long a form post without script waits for the answer before redirecting. Default 20,000 ms. */
  formWaitMs?: number;
}

/** Headers for every page and file: no framing, no sniffing, scripts and styles from this origin only. */
const pageHeaders: RequestHandler = (request, response, next) => {
  const host = request.headers.host ?? '';
  // The page's script opens a WebSocket to this same host.
  const socket = /^[a-zA-Z0-9.:[\]-]+$/.test(host) ? ` ws://${host} wss://${host}` : '';
  response.setHeader(
    'content-security-policy',
    `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'${socket}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  );
  response.setHeader('x-content-type-options', 'nosniff');
  response.setHeader('referrer-policy', 'same-origin');
  next();
};

/**
 * The Flask side of the architecture as one Express app: the server-rendered login and chat
 * pages (signed session cookie, CSRF-protected forms), the static script that streams runs over
 * the WebSocket with a run token (pattern B), and the orchestrator API under `/api/v1`. Attach
 * the WebSocket with `attachWebSocket(server, api)`.
 */
export function createHostApp(options: HostAppOptions): Express {
  if (options.sessionSecret.length < 32) throw new Error('createHostApp: sessionSecret needs 32+ characters');
  const app = express();
  app.disable('x-powered-by');

  // Only the API's own paths go through its handler (which wraps each request in a Web
  // `Request`); pages, forms and static files go straight to the routes below.
  const apiHandler = toNodeHandler(options.api);
  app.use((request, response, next) => {
    if (request.path.startsWith('/api/')) apiHandler(request, response, next);
    else next();
  });

  app.use(pageHeaders);
  app.use(
    '/static',
    express.static(fileURLToPath(new URL('../../public', import.meta.url)), { index: false, maxAge: '5m' }),
  );
  app.use(cookieParser(options.sessionSecret));
  const sessions = createSessionCookies({
    secret: options.sessionSecret,
    secure: options.secureCookies ?? true,
  });
  app.use(
    createChatRoutes({
      assistant: options.assistant,
      auth: options.auth,
      sessions,
      formWaitMs: options.formWaitMs ?? 20_000,
    }),
  );

  app.use((_request, response) => {
    response.status(404).type('html').send(messagePage('Not found', 'There is no page here.'));
  });
  const onError: ErrorRequestHandler = (error: unknown, request, response, next) => {
    if (response.headersSent) {
      next(error);
      return;
    }
    const failure = error as { status?: number; code?: string; message?: string };
    const csrf = failure.code === 'EBADCSRFTOKEN';
    const status =
      typeof failure.status === 'number' && failure.status >= 400 && failure.status < 500
        ? failure.status
        : isStewardError(error) && error.code === 'not_found'
          ? 404
          : 500;
    if (status === 500) console.error('express-host:', error);
    const message = csrf
      ? 'The form expired or did not come from this site. Reload the page and try again.'
      : status === 500
        ? 'Something went wrong on our side.'
        : (failure.message ?? 'Bad request');
    if (request.accepts(['html', 'json']) === 'json') {
      response.status(status).json({ error: { code: csrf ? 'invalid_csrf_token' : 'error', message } });
      return;
    }
    response
      .status(status)
      .type('html')
      .send(messagePage(csrf ? 'Form expired' : 'Request refused', message));
  };
  app.use(onError);
  return app;
}
