import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import { z } from 'zod';
import { hostConfig } from './config.ts';
import type { PendingSignIn, SignedInUser } from './session.ts';
import { processSingleton } from './singleton.ts';

const isLoopback = (url: string) => /^http:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?(\/|$)/.test(url);

/** The provider's metadata, discovered on first use (and again after a failed discovery). */
function configuration(): Promise<client.Configuration> {
  const holder = processSingleton('oidc', () => ({
    discovered: undefined as Promise<client.Configuration> | undefined,
  }));
  const { oidc } = hostConfig();
  holder.discovered ??= client
    .discovery(
      new URL(oidc.issuer),
      oidc.clientId,
      oidc.clientSecret,
      oidc.clientSecret === undefined ? client.None() : client.ClientSecretBasic(oidc.clientSecret),
      // The demo's provider runs on http://localhost; any other issuer must be https.
      isLoopback(oidc.issuer) ? { execute: [client.allowInsecureRequests] } : {},
    )
    .catch((error: unknown) => {
      holder.discovered = undefined;
      throw error;
    });
  return holder.discovered;
}

const redirectUri = () => `${hostConfig().appUrl}/auth/callback`;

/** Where to send the browser to sign in (authorization code with PKCE S256, state and nonce). */
export async function startSignIn(): Promise<{ url: URL; pending: PendingSignIn }> {
  const config = await configuration();
  const pending: PendingSignIn = {
    state: client.randomState(),
    nonce: client.randomNonce(),
    codeVerifier: client.randomPKCECodeVerifier(),
  };
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri(),
    scope: 'openid profile email',
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await client.calculatePKCECodeChallenge(pending.codeVerifier),
    code_challenge_method: 'S256',
  });
  return { url, pending };
}

const claimsSchema = z
  .object({ sub: z.string().min(1), name: z.string().optional(), preferred_username: z.string().optional() })
  .loose();

/** Checks the callback (state, PKCE, nonce, ID token) and says who signed in. */
export async function finishSignIn(callbackUrl: URL, pending: PendingSignIn): Promise<SignedInUser> {
  const config = await configuration();
  const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
    pkceCodeVerifier: pending.codeVerifier,
    expectedState: pending.state,
    expectedNonce: pending.nonce,
    idTokenExpected: true,
  });
  const claims = claimsSchema.parse(tokens.claims());
  return {
    userId: userIdOf(config.serverMetadata().issuer, claims.sub),
    name: claims.name ?? claims.preferred_username ?? claims.sub,
  };
}

/** A stable Steward user id per provider and subject: two issuers never share one. */
function userIdOf(issuer: string, subject: string): string {
  return `u-${createHash('sha256').update(`${issuer}\n${subject}`).digest('base64url').slice(0, 22)}`;
}
