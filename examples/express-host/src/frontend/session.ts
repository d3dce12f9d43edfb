import { randomUUID } from 'node:crypto';
import { doubleCsrf } from 'csrf-csrf';
import type { Request, RequestHandler, Response } from 'express';
import session from 'express-session';
import { z } from 'zod';

/** Who is signed in, as the server-side session says (Flask's session, in effect). */
export interface WebSession {
  /** The user id every Steward call is scoped to. */
  readonly user: string;
  /** The conversation (Steward session) `/chat` opens: a new one at sign-in, then the last one opened. */
  readonly sid: string;
  /** When the user signed in (epoch milliseconds). */
  readonly signedInAt: number;
  /** Their name, as the identity provider gave it. */
  readonly name: string;
  readonly email?: string;
  /** `admin` may register MCP servers. */
  readonly roles: readonly string[];
  /** The ID token, kept server-side for the provider's sign-out (`id_token_hint`). */
  readonly idToken?: string;
}

/** Who signs in: what {@link WebSessions.start} records. */
export type SignedInUser = Omit<WebSession, 'sid' | 'signedInAt'>;

declare module 'express-session' {
  interface SessionData {
    user: string;
    sid: string;
    signedInAt: number;
    name: string;
    email?: string;
    roles: string[];
    idToken?: string;
    /** An OpenID Connect sign-in under way: state, nonce and PKCE verifier until the callback. */
    signIn?: {
      state: string;
      nonce: string;
      codeVerifier: string;
      redirectUri: string;
      startedAt: number;
    };
  }
}

// What the store hands back is checked like any other stored row.
const sessionSchema = z.object({
  user: z.string().min(1).max(256),
  sid: z.uuid(),
  signedInAt: z.number().int().positive(),
  name: z.string().min(1).max(256),
  email: z.string().max(320).optional(),
  roles: z.array(z.string().max(64)).max(50),
  idToken: z.string().max(16_384).optional(),
});

/** Usernames of the demo login: no password, but no markup or spaces either. */
export const usernameSchema = z
  .string({ error: 'Enter a username' })
  .trim()
  .min(1, 'Enter a username')
  .max(64, 'At most 64 characters')
  .regex(/^[\p{L}\p{N}._@-]+$/u, 'Letters, digits and . _ @ - only');

/** Options of {@link createWebSessions}. */
export interface WebSessionOptions {
  /** Signs the session cookie and the CSRF tokens. */
  secret: string;
  /** Where sessions live (see `createWebSessionStore`). */
  store: session.Store;
  /**
   * `'auto'` (the default): Secure when the request came over HTTPS, directly or through a proxy
   * the app trusts (`trust proxy`). `true`: always Secure, so the cookie is never even set over
   * plain HTTP. `false`: never.
   */
  secure: boolean | 'auto';
  /** A session unused this long ends. */
  idleMs: number;
  /** A session ends this long after sign-in, however active. */
  absoluteMs: number;
  now: () => number;
}

/** The host's sessions: middleware that loads them, and sign-in, sign-out and CSRF over them. */
export interface WebSessions {
  /** express-session, then the lifetime check; in front of every page route. */
  readonly middleware: readonly RequestHandler[];
  read(request: Request): WebSession | undefined;
  /** Signs the user in with a fresh session id and a fresh Steward session. */
  start(request: Request, user: SignedInUser): Promise<WebSession>;
  /** Makes `sid` the conversation `/chat` opens. */
  open(request: Request, sid: string): void;
  /** Signs out: the session is deleted from the store, so no copy of the cookie opens it again. */
  end(request: Request, response: Response): Promise<void>;
  /** The per-session CSRF token for forms (set in its own cookie too: double submit). */
  csrfToken(request: Request, response: Response): string;
  /** 403 unless the request's `_csrf` field or `x-csrf-token` header matches. */
  readonly csrfProtection: RequestHandler;
}

/** A store that failed: the request gets a 503, not a sign-in page that would loop. */
export class SessionStoreUnavailableError extends Error {
  readonly status = 503;
  constructor(cause: unknown) {
    super('Sessions are unavailable right now; try again shortly.', { cause });
    this.name = 'SessionStoreUnavailableError';
  }
}

const cookieName = 'steward_session';

// Stores call back with `null` or `undefined` for success, depending on the store.
const failed = (error: unknown) => error !== undefined && error !== null;

/**
 * Server-side sessions over express-session: the cookie (`steward_session`) carries only a
 * random id signed with `secret`; who is signed in lives in the store, so signing out deletes
 * it for every copy of the cookie. The cookie is httpOnly and SameSite=Lax, Secure as `secure`
 * says, and renewed on each request for the idle lifetime, never past the absolute one. CSRF
 * tokens come from `csrf-csrf`, bound to the session id: a token from one sign-in is worthless
 * in another. Needs `cookieParser()` in front (for the CSRF cookie).
 */
export function createWebSessions(options: WebSessionOptions): WebSessions {
  const { now, idleMs, absoluteMs } = options;
  const loadSession = session({
    name: cookieName,
    secret: options.secret,
    store: options.store,
    // Nothing is stored for a visitor until they sign in, and an unchanged session is only touched.
    saveUninitialized: false,
    resave: false,
    rolling: true,
    unset: 'destroy',
    cookie: { httpOnly: true, sameSite: 'lax', secure: options.secure, path: '/', maxAge: idleMs },
  });
  const load: RequestHandler = (request, response, next) =>
    loadSession(request, response, (error?: unknown) =>
      next(failed(error) ? new SessionStoreUnavailableError(error) : undefined),
    );

  const valid = (request: Request): WebSession | undefined => {
    const stored = request.session;
    if (stored?.user === undefined) return undefined;
    const parsed = sessionSchema.safeParse({
      user: stored.user,
      sid: stored.sid,
      signedInAt: stored.signedInAt,
      name: stored.name,
      email: stored.email,
      roles: stored.roles,
      idToken: stored.idToken,
    });
    if (!parsed.success || now() - parsed.data.signedInAt >= absoluteMs) return undefined;
    return parsed.data as WebSession;
  };

  // A session past its absolute lifetime (or one the store returned in a shape it never wrote)
  // is deleted; a live one has its cookie, and so its stored expiry, capped at that lifetime.
  const lifetime: RequestHandler = (request, _response, next) => {
    if (request.session?.user === undefined) {
      next();
      return;
    }
    const current = valid(request);
    if (current === undefined) {
      request.session.destroy((error?: unknown) =>
        next(failed(error) ? new SessionStoreUnavailableError(error) : undefined),
      );
      return;
    }
    const left = Math.min(idleMs, current.signedInAt + absoluteMs - now());
    request.session.cookie.originalMaxAge = left;
    request.session.cookie.maxAge = left;
    next();
  };

  const csrfFor = (secure: boolean) =>
    doubleCsrf({
      getSecret: () => options.secret,
      // Before sign-in the identifier is empty: the login form is protected by the cookie pair alone.
      getSessionIdentifier: (request) => (valid(request) === undefined ? '' : request.sessionID),
      // __Host- keeps a sibling subdomain from planting the cookie; it needs Secure.
      cookieName: secure ? '__Host-steward.csrf' : 'steward.csrf',
      cookieOptions: { sameSite: 'lax', secure, httpOnly: true, path: '/' },
      getCsrfTokenFromRequest: (request) => {
        const field = (request.body as Record<string, unknown> | undefined)?._csrf;
        return typeof field === 'string' ? field : request.headers['x-csrf-token'];
      },
    });
  const csrf = { secure: csrfFor(true), plain: csrfFor(false) };
  const csrfOf = (request: Request) =>
    options.secure === true || (options.secure === 'auto' && request.secure) ? csrf.secure : csrf.plain;

  return {
    middleware: [load, lifetime],
    read: valid,
    start: (request, user) =>
      new Promise<WebSession>((resolve, reject) => {
        const fill = (error?: unknown) => {
          if (failed(error)) {
            reject(new SessionStoreUnavailableError(error));
            return;
          }
          const started: WebSession = { ...user, sid: randomUUID(), signedInAt: now() };
          Object.assign(request.session, { ...started, roles: [...started.roles] });
          // Saved before the redirect, so the next request finds it on any host sharing the store.
          request.session.save((saveError?: unknown) =>
            failed(saveError) ? reject(new SessionStoreUnavailableError(saveError)) : resolve(started),
          );
        };
        // A new id at sign-in: a cookie planted before it (session fixation) is worth nothing.
        // The lifetime check may have deleted an ended session already; then a new one is made.
        if (request.session === undefined) {
          request.sessionStore.generate(request);
          fill();
        } else request.session.regenerate(fill);
      }),
    end: (request, response) =>
      new Promise<void>((resolve, reject) => {
        const clear = () => {
          response.clearCookie(cookieName, { path: '/', httpOnly: true, sameSite: 'lax' });
          resolve();
        };
        if (request.session === undefined) {
          clear();
          return;
        }
        request.session.destroy((error?: unknown) => {
          if (failed(error)) reject(new SessionStoreUnavailableError(error));
          else clear();
        });
      }),
    open: (request, sid) => {
      if (request.session !== undefined) request.session.sid = sid;
    },
    csrfToken: (request, response) => csrfOf(request).generateCsrfToken(request, response),
    csrfProtection: (request, response, next) =>
      csrfOf(request).doubleCsrfProtection(request, response, next),
  };
}
