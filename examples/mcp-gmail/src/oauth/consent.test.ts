import type { OAuthClientInformationFull } from '@modelcontextprotocol/sdk/shared/auth.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorize,
  cookieOf,
  formFields,
  type Gmail,
  pkce,
  postForm,
  redirectUri,
  register,
  startOAuthGmail,
} from './test-helpers.ts';

let gmail: Gmail;
let client: OAuthClientInformationFull;
beforeAll(async () => {
  ({ gmail } = await startOAuthGmail());
  client = await register(gmail, { client_name: '<script>alert("owned")</script> Steward & co' });
});
afterAll(() => gmail.stop());

async function openSignIn(target = gmail, forClient = client, scope = 'gmail.readonly gmail.send') {
  const url = new URL(`${target.url}/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: forClient.client_id,
    redirect_uri: redirectUri,
    code_challenge: pkce().challenge,
    code_challenge_method: 'S256',
    scope,
    state: 'consent-state',
    resource: target.mcpUrl,
  }).toString();
  const page = await fetch(url);
  return { page, html: await page.text(), cookie: cookieOf(page) };
}

describe('the consent page', () => {
  it('is a server-rendered sign-in page: client name escaped, demo users labelled, no framing, no caching', async () => {
    const { page, html, cookie } = await openSignIn();
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('set-cookie')).toMatch(/HttpOnly/);
    expect(page.headers.get('set-cookie')).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/^gmail_mock_browser=/);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt; Steward &amp; co');
    expect(html).toContain('Demo users');
    expect(html).toContain('Sign in as Alice (alice@example.com)');
    expect(html).toContain('Sign in as Bob (bob@example.com)');
    expect(html).toContain('name="password"');
  });

  it('signs in with a password, then shows the client, the user, every scope and where the answer goes', async () => {
    const { html, cookie } = await openSignIn();
    const wrong = await postForm(
      `${gmail.url}/consent/sign-in`,
      { ...formFields(html), username: 'bob', password: 'alice-password' },
      { cookie },
    );
    expect(wrong.status).toBe(401);
    const retry = await wrong.text();
    expect(retry).toContain('Wrong username or password.');
    const signedIn = await postForm(
      `${gmail.url}/consent/sign-in`,
      { ...formFields(retry), username: 'bob', password: 'bob-password' },
      { cookie },
    );
    expect(signedIn.status).toBe(200);
    const consent = await signedIn.text();
    expect(consent).toContain('Signed in as <strong>Bob</strong> (bob@example.com)');
    expect(consent).toContain('&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt; Steward &amp; co');
    expect(consent).toContain('Read your email and its labels <code>gmail.readonly</code>');
    expect(consent).toContain('Send email as you <code>gmail.send</code>');
    expect(consent).toContain('Your answer goes back to <strong>127.0.0.1:9</strong>');
    expect(consent).toMatch(/value="allow">Allow<\/button>/);
    expect(consent).toMatch(/value="deny">Deny<\/button>/);
  });

  it('sends Deny back as access_denied with the state, and no code', async () => {
    const location = await authorize(gmail, client, { decision: 'deny', state: 'deny-state' });
    expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
    expect(Object.fromEntries(location.searchParams)).toEqual({
      error: 'access_denied',
      error_description: 'The user denied access',
      state: 'deny-state',
      iss: gmail.url,
    });
  });

  it('refuses a decision from another browser, with a wrong token, from another origin, or a second time', async () => {
    const { html, cookie } = await openSignIn();
    const signedIn = await postForm(
      `${gmail.url}/consent/sign-in`,
      { ...formFields(html), demo_user: 'alice' },
      { cookie },
    );
    const fields = formFields(await signedIn.text());
    const decide = (form: Record<string, string>, headers: Record<string, string>) =>
      postForm(`${gmail.url}/consent`, { ...fields, decision: 'allow', ...form }, headers);
    // A page elsewhere cannot send the browser's cookie (SameSite) nor read the token.
    expect((await decide({}, {})).status).toBe(400);
    expect(
      (await decide({}, { cookie: 'gmail_mock_browser=forged-forged-forged-forged-forged-forged-12' }))
        .status,
    ).toBe(400);
    expect((await decide({ csrf: 'guessed' }, { cookie })).status).toBe(400);
    expect((await decide({}, { cookie, origin: 'https://attacker.example' })).status).toBe(403);
    const allowed = await decide({}, { cookie, origin: gmail.url });
    expect(allowed.status).toBe(303);
    expect(new URL(allowed.headers.get('location') ?? '').searchParams.get('code')).toMatch(/^gmac_/);
    expect((await decide({}, { cookie })).status).toBe(400);
  });

  it('refuses a decision before sign-in, and a form that is not one', async () => {
    const { html, cookie } = await openSignIn();
    const early = await postForm(
      `${gmail.url}/consent`,
      { ...formFields(html), decision: 'allow' },
      { cookie },
    );
    expect(early.status).toBe(400);
    expect(await early.text()).toContain('Not signed in');
    expect((await postForm(`${gmail.url}/consent`, { decision: 'maybe' }, { cookie })).status).toBe(400);
    expect((await postForm(`${gmail.url}/consent/sign-in`, {}, { cookie })).status).toBe(400);
  });

  it('lists no one-click users when they are off, and refuses one', async () => {
    const strict = (await startOAuthGmail({ oneClickSignIn: false })).gmail;
    try {
      const { html, cookie } = await openSignIn(strict, await register(strict, { client_name: 'Strict' }));
      expect(html).not.toContain('Demo users');
      const oneClick = await postForm(
        `${strict.url}/consent/sign-in`,
        { ...formFields(html), demo_user: 'alice' },
        { cookie },
      );
      expect(oneClick.status).toBe(401);
    } finally {
      await strict.stop();
    }
  });
});
