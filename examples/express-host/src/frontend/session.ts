import { randomUUID } from 'node:crypto';
import { doubleCsrf } from 'csrf-csrf';
import type { CookieOptions, Request, Response } from 'express';
import { z } from 'zod';

/** Who is signed in, as the signed session cookie says (Flask's session, in effect). */
export interface WebSession {
  /** The user id every Steward call is scoped to. */
  readonly user: string;
  /** The Steward session this login chats in. */
  readonly sid: string;
  /** When the user signed in (epoch seconds). */
  readonly iat: number;
}

const sessionSchema = z.object({
  user: z.string().min(1).max(64),
  sid: z.uuid(),
  iat: z.number().int().positive(),
});

/** Usernames of the demo login: no password, but no markup or spaces either. */
export const usernameSchema = z
  .string({ error: 'Enter a username' })
  .trim()
  .min(1, 'Enter a username')
  .max(64, 'At most 64 characters')
  .regex(/^[\p{L}\p{N}._@-]+$/u, 'Letters, digits and . _ @ - only');

/** Sessions last this long, enforced from `iat` too, so a copied cookie does not live forever. */
const sessionSeconds = 8 * 60 * 60;

export interface SessionCookies {
  read(request: Request): WebSession | undefined;
  /** Signs the user in with a fresh Steward session. */
  start(response: Response, user: string): WebSession;
  end(response: Response): void;
  /** The per-session CSRF token for forms (set in its own cookie too: double submit). */
  csrfToken(request: Request, response: Response): string;
  /** Express middleware: 403 unless the request's `_csrf` field or `x-csrf-token` header matches. */
  csrfProtection: ReturnType<typeof doubleCsrf>['doubleCsrfProtection'];
}

/**
 * The session cookie (`steward_session`, signed by cookie-parser with `secret`; httpOnly, Secure,
 * SameSite=Lax) and CSRF tokens from `csrf-csrf`, bound to the session id: a token from one login
 * is worthless in another. Needs `cookieParser(secret)` in front.
 */
export function createSessionCookies(options: { secret: string; secure: boolean }): SessionCookies {
  const name = 'steward_session';
  const cookieOptions: CookieOptions = {
    httpOnly: true,
    secure: options.secure,
    sameSite: 'lax',
    path: '/',
    signed: true,
    maxAge: sessionSeconds * 1_000,
  };

  const read = (request: Request): WebSession | undefined => {
    // cookie-parser leaves `false` for a bad signature, and parses `j:` JSON values.
    const parsed = sessionSchema.safeParse((request.signedCookies as Record<string, unknown>)[name]);
    if (!parsed.success) return undefined;
    if (parsed.data.iat + sessionSeconds < Date.now() / 1_000) return undefined;
    return parsed.data;
  };

  const { generateCsrfToken, doubleCsrfProtection } = doubleCsrf({
    getSecret: () => options.secret,
    // Before login the identifier is empty: the login form is protected by the cookie pair alone.
    getSessionIdentifier: (request) => read(request)?.sid ?? '',
    // __Host- keeps a sibling subdomain from planting the cookie; it needs Secure.
    cookieName: options.secure ? '__Host-steward.csrf' : 'steward.csrf',
    cookieOptions: { sameSite: 'lax', secure: options.secure, httpOnly: true, path: '/' },
    getCsrfTokenFromRequest: (request) => {
      const field = (request.body as Record<string, unknown> | undefined)?._csrf;
      return typeof field === 'string' ? field : request.headers['x-csrf-token'];
    },
  });

  return {
    read,
    start(response, user) {
      const session: WebSession = { user, sid: randomUUID(), iat: Math.floor(Date.now() / 1_000) };
      response.cookie(name, session, cookieOptions);
      return session;
    },
    end(response) {
      const { maxAge: _maxAge, ...clear } = cookieOptions;
      response.clearCookie(name, clear);
    },
    csrfToken: (request, response) => generateCsrfToken(request, response),
    csrfProtection: doubleCsrfProtection,
  };
}
