import { NextResponse } from 'next/server';
import { hostConfig } from '../../../server/config.ts';
import { finishSignIn } from '../../../server/oidc.ts';
import { signInAs, takeSignIn } from '../../../server/session.ts';

/** The provider sends the browser back here: check everything, then start the session. */
export async function GET(request: Request): Promise<Response> {
  const pending = await takeSignIn();
  const { appUrl } = hostConfig();
  if (pending === undefined) return NextResponse.redirect(`${appUrl}/login`);
  // The callback URL as the provider redirected to it (behind a proxy, request.url may differ).
  const callback = new URL(`${appUrl}/auth/callback${new URL(request.url).search}`);
  try {
    await signInAs(await finishSignIn(callback, pending));
  } catch (error) {
    console.warn('sign-in failed', error);
    return new Response('Sign-in failed. Go back and try again.', { status: 400 });
  }
  return NextResponse.redirect(`${appUrl}/chat`);
}
