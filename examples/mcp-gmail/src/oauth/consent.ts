import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import { consentPage, errorPage, sendPage, signInPage } from './consent-page.ts';
import type { ApprovedAuthorization, GrantStore } from './grants.ts';
import type { GmailOAuthUser, ResolvedOAuthConfig } from './options.ts';

/** An authorization request waiting for the user: sign-in, then Allow or Deny. */
interface PendingAuthorization {
  readonly id: string;
  /** Echoed by every form of this request. */
  readonly csrf: string;
  /** The browser that started it (its cookie): a form posted from any other is refused. */
  readonly browser: string;
  readonly request: Omit<ApprovedAuthorization, 'user'> & { readonly state?: string };
  readonly expiresAt: number;
  user?: GmailOAuthUser;
}

const browserCookie = 'gmail_mock_browser';
const pendingTtlMs = 10 * 60_000;
const random = () => randomBytes(32).toString('base64url');

const sameSecret = (left: string, right: string) => {
  const a = createHash('sha256').update(left).digest();
  const b = createHash('sha256').update(right).digest();
  return timingSafeEqual(a, b);
};

function cookieValue(request: Request, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

const formSchema = z.object({ request: z.string().min(1).max(100), csrf: z.string().min(1).max(100) });
const signInSchema = formSchema.extend({
  username: z.string().max(200).optional(),
  password: z.string().max(1_000).optional(),
  demo_user: z.string().max(200).optional(),
});
const decisionSchema = formSchema.extend({ decision: z.enum(['allow', 'deny']) });

/**
 * The consent screen of the authorization server. CSRF-safe three ways: each request has an
 * unguessable id and token that only its pages carry, it is bound to the browser that opened it
 * (an HttpOnly, SameSite=Lax cookie), and a form posted from another origin is refused.
 */
export function createConsent(config: ResolvedOAuthConfig, grants: GrantStore, now: () => number) {
  const pending = new Map<string, PendingAuthorization>();
  const demoUsers = config.oneClickSignIn ? config.users : [];

  const answer = (response: Response, target: PendingAuthorization, params: Record<string, string>) => {
    const url = new URL(target.request.redirectUri);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    if (target.request.state !== undefined) url.searchParams.set('state', target.request.state);
    // RFC 9207: the issuer in the answer lets a client talking to several servers tell them apart.
    url.searchParams.set('iss', config.issuer);
    response.set('cache-control', 'no-store').redirect(303, url.href);
  };

  /** The pending request a form names, when this browser started it and the token matches. */
  const find = (request: Request, response: Response, form: z.output<typeof formSchema>) => {
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== config.issuer) {
      sendPage(response, 403, errorPage('Not allowed', 'This form was sent from another site.'));
      return undefined;
    }
    const target = pending.get(form.request);
    const browser = cookieValue(request, browserCookie);
    if (
      target === undefined ||
      target.expiresAt <= now() ||
      browser === undefined ||
      !sameSecret(browser, target.browser) ||
      !sameSecret(form.csrf, target.csrf)
    ) {
      sendPage(
        response,
        400,
        errorPage('This sign-in has expired', 'The authorization request is unknown or too old.'),
      );
      return undefined;
    }
    return target;
  };

  const router = express.Router();
  router.use(express.urlencoded({ extended: false, limit: '16kb' }));

  router.post('/sign-in', (request, response) => {
    const form = signInSchema.safeParse(request.body);
    if (!form.success) {
      sendPage(response, 400, errorPage('Bad request', 'The sign-in form is incomplete.'));
      return;
    }
    const target = find(request, response, form.data);
    if (target === undefined) return;
    const { demo_user: demoUser, username, password } = form.data;
    const user =
      demoUser === undefined
        ? config.users.find(
            (candidate) =>
              candidate.username === username &&
              password !== undefined &&
              sameSecret(password, candidate.password),
          )
        : demoUsers.find((candidate) => candidate.username === demoUser);
    const fields = { requestId: target.id, csrf: target.csrf, clientName: clientName(target) };
    if (user === undefined) {
      sendPage(response, 401, signInPage({ ...fields, demoUsers, error: 'Wrong username or password.' }));
      return;
    }
    target.user = user;
    sendPage(
      response,
      200,
      consentPage({
        ...fields,
        user,
        scopes: target.request.scopes,
        redirectUri: target.request.redirectUri,
      }),
    );
  });

  router.post('/', (request, response) => {
    const form = decisionSchema.safeParse(request.body);
    if (!form.success) {
      sendPage(response, 400, errorPage('Bad request', 'Choose Allow or Deny.'));
      return;
    }
    const target = find(request, response, form.data);
    if (target === undefined) return;
    const { user } = target;
    if (user === undefined) {
      sendPage(response, 400, errorPage('Not signed in', 'Sign in before you allow or deny access.'));
      return;
    }
    // One answer per request: a replayed form finds nothing.
    pending.delete(target.id);
    if (form.data.decision === 'deny') {
      answer(response, target, { error: 'access_denied', error_description: 'The user denied access' });
      return;
    }
    const { state: _state, ...approval } = target.request;
    answer(response, target, { code: grants.createCode({ ...approval, user }) });
  });

  return {
    router,
    /** Starts a request the MCP SDK's authorization handler validated: the sign-in page. */
    begin(request: Request, response: Response, authorization: PendingAuthorization['request']): void {
      const at = now();
      for (const [id, old] of pending) if (old.expiresAt <= at) pending.delete(id);
      const existing = cookieValue(request, browserCookie);
      const browser = existing !== undefined && /^[\w-]{43}$/.test(existing) ? existing : random();
      const target: PendingAuthorization = {
        id: random(),
        csrf: random(),
        browser,
        request: authorization,
        expiresAt: at + pendingTtlMs,
      };
      pending.set(target.id, target);
      response.cookie(browserCookie, browser, {
        httpOnly: true,
        sameSite: 'lax',
        secure: config.issuer.startsWith('https:'),
        path: '/',
      });
      sendPage(
        response,
        200,
        signInPage({ requestId: target.id, csrf: target.csrf, clientName: clientName(target), demoUsers }),
      );
    },
  };
}

/** The name the client registered, else its id: what the user is asked to trust. */
function clientName(target: PendingAuthorization): string {
  return target.request.client.client_name ?? target.request.client.client_id;
}

export type Consent = ReturnType<typeof createConsent>;
