import { Router } from 'express';
import type { HostStore } from '../identity/host-store.ts';
import { type OidcSignIn, type PendingSignIn, userIdOf } from '../identity/oidc.ts';
import type { RefreshTokenStore } from '../identity/refresh-tokens.ts';
import { fieldsOf, formBody } from './form-body.ts';
import type { RouteKit } from './route-kit.ts';
import { usernameSchema } from './session.ts';
import { messagePage, render } from './views.ts';

/** A sign-in left unfinished this long is refused at the callback. */
const signInWindowMs = 10 * 60_000;

/**
 * Sign-in and sign-out: OpenID Connect (`POST /auth/login` → the provider → `GET /auth/callback`),
 * and, only when the operator turned it on, the development sign-in (`POST /login`, any name).
 */
export function createAuthRoutes(options: {
  kit: RouteKit;
  oidc: OidcSignIn | undefined;
  devSignIn: boolean;
  store: HostStore;
  refreshTokens: RefreshTokenStore;
}): Router {
  const { kit, oidc, devSignIn, store, refreshTokens } = options;
  const { sessions, noStore } = kit;
  const router = Router();
  const loginView = (extra: { error?: string; username?: string; fieldError?: string } = {}) => ({
    devSignIn,
    ...(oidc === undefined ? {} : { providerName: oidc.providerName }),
    ...extra,
  });
  const origin = (request: import('express').Request) => `${request.protocol}://${request.get('host') ?? ''}`;

  router.get('/login', noStore, (request, response) => {
    if (sessions.read(request) !== undefined) {
      response.redirect(303, '/chat');
      return;
    }
    const frame = { title: 'Sign in', csrf: sessions.csrfToken(request, response) };
    const error = typeof request.query.error === 'string' ? request.query.error : undefined;
    response
      .type('html')
      .send(
        render(
          'login',
          frame,
          loginView(error === undefined ? {} : { error: signInErrors[error] ?? signInErrorFallback }),
        ),
      );
  });

  router.post('/auth/login', noStore, formBody, sessions.csrfProtection, async (request, response) => {
    if (oidc === undefined) {
      response.status(404).type('html').send(messagePage('Not found', 'No identity provider is configured.'));
      return;
    }
    let started: { url: URL; pending: PendingSignIn };
    try {
      started = await oidc.start(origin(request));
    } catch (error) {
      console.error('express-host: the identity provider cannot be reached:', error);
      response.redirect(303, '/login?error=unreachable');
      return;
    }
    // Kept in the server-side session (the cookie holds only its id) until the callback.
    request.session.signIn = { ...started.pending };
    request.session.save((error?: unknown) => {
      if (error) response.redirect(303, '/login?error=failed');
      else response.redirect(303, started.url.href);
    });
  });

  router.get('/auth/callback', noStore, async (request, response) => {
    const pending = request.session?.signIn;
    if (oidc === undefined || pending === undefined || Date.now() - pending.startedAt > signInWindowMs) {
      response.redirect(303, '/login?error=expired');
      return;
    }
    delete request.session.signIn;
    if (typeof request.query.error === 'string') {
      response.redirect(
        303,
        `/login?error=${request.query.error === 'access_denied' ? 'cancelled' : 'failed'}`,
      );
      return;
    }
    let identity: Awaited<ReturnType<OidcSignIn['finish']>>;
    try {
      identity = await oidc.finish(new URL(request.originalUrl, pending.redirectUri), pending);
    } catch (error) {
      console.error('express-host: sign-in refused:', error instanceof Error ? error.message : error);
      response.redirect(303, '/login?error=failed');
      return;
    }
    const user = await store.saveUser({
      id: userIdOf(identity.issuer, identity.subject),
      issuer: identity.issuer,
      subject: identity.subject,
      name: identity.name,
      ...(identity.email === undefined ? {} : { email: identity.email }),
      roles: identity.roles,
    });
    if (identity.refreshToken !== undefined) await refreshTokens.save(user.id, identity.refreshToken);
    await sessions.start(request, {
      user: user.id,
      name: user.name,
      ...(user.email === undefined ? {} : { email: user.email }),
      roles: user.roles,
      ...(identity.idToken === undefined ? {} : { idToken: identity.idToken }),
    });
    response.redirect(303, '/chat');
  });

  router.post('/login', noStore, formBody, sessions.csrfProtection, async (request, response) => {
    if (!devSignIn) {
      response.status(404).type('html').send(messagePage('Not found', 'Sign in with the identity provider.'));
      return;
    }
    const raw = fieldsOf(request).username;
    const username = usernameSchema.safeParse(raw);
    if (!username.success) {
      const frame = { title: 'Sign in', csrf: sessions.csrfToken(request, response) };
      response
        .status(400)
        .type('html')
        .send(
          render(
            'login',
            frame,
            loginView({
              fieldError: username.error.issues[0]?.message ?? 'Invalid username',
              ...(typeof raw === 'string' ? { username: raw.slice(0, 64) } : {}),
            }),
          ),
        );
      return;
    }
    // The development sign-in's user id is the name itself: anyone can be anyone.
    const user = await store.saveUser({
      id: username.data,
      issuer: 'dev',
      subject: username.data,
      name: username.data,
      roles: [],
    });
    await sessions.start(request, { user: user.id, name: user.name, roles: user.roles });
    response.redirect(303, '/chat');
  });

  router.post(
    '/logout',
    noStore,
    formBody,
    kit.signedIn,
    sessions.csrfProtection,
    async (request, response) => {
      const { idToken } = kit.sessionOf(response);
      await sessions.end(request, response);
      // Also end the provider's session (RP-initiated logout), so the next sign-in asks again.
      const url =
        oidc === undefined || idToken === undefined
          ? undefined
          : await oidc
              .logoutUrl({ idToken, postLogoutRedirectUri: `${origin(request)}/login` })
              .catch(() => undefined);
      response.redirect(303, url?.href ?? '/login');
    },
  );

  return router;
}

const signInErrorFallback = 'The sign-in could not be completed. Try again.';
const signInErrors: Readonly<Record<string, string>> = {
  expired: 'That sign-in took too long or was already used. Sign in again.',
  cancelled: 'The sign-in was cancelled.',
  unreachable: 'The identity provider cannot be reached right now. Try again shortly.',
  failed: 'The sign-in could not be completed. Try again.',
};
