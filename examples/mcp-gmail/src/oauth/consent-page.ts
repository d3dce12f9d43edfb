import type { Response } from 'express';
import { type GmailOAuthUser, scopeDescriptions } from './options.ts';

/** Escapes text for HTML content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const style = `
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; color: #1f2328; }
  h1 { font-size: 1.4rem; } h2 { font-size: 1rem; margin-top: 2rem; }
  form { margin: 1rem 0; } label { display: block; margin: .5rem 0; }
  input { font: inherit; padding: .3rem; width: 100%; box-sizing: border-box; }
  button { font: inherit; padding: .4rem 1rem; margin: .25rem .5rem .25rem 0; cursor: pointer; }
  .demo { border: 2px dashed #bf8700; padding: .5rem 1rem; background: #fff8c5; }
  .error { color: #cf222e; } .note { color: #59636e; font-size: .9rem; } code { font-size: .9rem; }
`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Gmail mock</title><style>${style}</style></head>
<body>
${body}
</body>
</html>`;
}

/**
 * Sends a page of the authorization server: never cached, never framed (clickjacking), no
 * script at all, and the referrer kept to this origin so the forms' `Origin` stays checkable.
 */
export function sendPage(response: Response, status: number, html: string): void {
  response
    .status(status)
    .set({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy':
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
      'x-frame-options': 'DENY',
      'referrer-policy': 'same-origin',
    })
    .send(html);
}

/** The hidden fields every form of one authorization request carries. */
interface RequestFields {
  readonly requestId: string;
  readonly csrf: string;
}

const hidden = ({ requestId, csrf }: RequestFields) =>
  `<input type="hidden" name="request" value="${escapeHtml(requestId)}">
  <input type="hidden" name="csrf" value="${escapeHtml(csrf)}">`;

/** Step one: who is signing in. */
export function signInPage(
  fields: RequestFields & {
    clientName: string;
    /** The one-click demo users, when they are on. */
    demoUsers: readonly GmailOAuthUser[];
    error?: string;
  },
): string {
  const demo =
    fields.demoUsers.length === 0
      ? ''
      : `<section class="demo" aria-labelledby="demo-users">
  <h2 id="demo-users">Demo users: sign in with one click</h2>
  <p class="note">This is a mock server with made-up mailboxes; these buttons skip the password.</p>
  <form method="post" action="/consent/sign-in">
  ${hidden(fields)}
  ${fields.demoUsers
    .map(
      (user) =>
        `<button type="submit" name="demo_user" value="${escapeHtml(user.username)}">Sign in as ${escapeHtml(user.name)} (${escapeHtml(user.email)})</button>`,
    )
    .join('\n  ')}
  </form>
</section>`;
  return layout(
    'Sign in',
    `<h1>Sign in to Gmail (mock)</h1>
<p><strong>${escapeHtml(fields.clientName)}</strong> wants to use your mailbox. Sign in first; you choose what it may do next.</p>
${fields.error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(fields.error)}</p>`}
<form method="post" action="/consent/sign-in">
  ${hidden(fields)}
  <label>Username <input name="username" autocomplete="username" required></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <button type="submit">Sign in</button>
</form>
${demo}`,
  );
}

/** Step two: what the client asks for, and where the answer goes. */
export function consentPage(
  fields: RequestFields & {
    clientName: string;
    user: GmailOAuthUser;
    scopes: readonly string[];
    redirectUri: string;
  },
): string {
  const redirect = new URL(fields.redirectUri);
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(redirect.hostname);
  return layout(
    'Allow access?',
    `<h1>Allow ${escapeHtml(fields.clientName)} to use your Gmail?</h1>
<p>Signed in as <strong>${escapeHtml(fields.user.name)}</strong> (${escapeHtml(fields.user.email)}).</p>
<p><strong>${escapeHtml(fields.clientName)}</strong> asks to:</p>
<ul>
${fields.scopes
  .map(
    (scope) =>
      `  <li>${escapeHtml(scopeDescriptions[scope] ?? scope)} <code>${escapeHtml(scope)}</code></li>`,
  )
  .join('\n')}
</ul>
<p>Your answer goes back to <strong>${escapeHtml(redirect.host)}</strong>.${
      loopback
        ? ' <span class="note">That is an app on this computer: allow only if you just started this from it.</span>'
        : ''
    }</p>
<form method="post" action="/consent">
  ${hidden(fields)}
  <button type="submit" name="decision" value="allow">Allow</button>
  <button type="submit" name="decision" value="deny">Deny</button>
</form>`,
  );
}

/** A dead end the user can do nothing about but start again from the app. */
export function errorPage(title: string, message: string): string {
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(message)}</p>
<p class="note">Go back to the app you came from and connect again.</p>`,
  );
}
