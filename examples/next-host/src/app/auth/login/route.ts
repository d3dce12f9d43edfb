import { NextResponse } from 'next/server';
import { startSignIn } from '../../../server/oidc.ts';
import { rememberSignIn } from '../../../server/session.ts';

/** Starts the sign-in: state, nonce and PKCE verifier go into a short-lived encrypted cookie. */
export async function GET(): Promise<Response> {
  const { url, pending } = await startSignIn();
  await rememberSignIn(pending);
  return NextResponse.redirect(url, { headers: { 'cache-control': 'no-store' } });
}
