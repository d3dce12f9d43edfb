const entities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for an element's content or a quoted attribute value. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (character) => entities[character] as string);
}

/** The provider's stylesheet, served at `/idp.css` (the pages' CSP allows styles from the origin only). */
export const stylesheet = `:root { color-scheme: light dark; --accent: #6d28d9; --line: color-mix(in srgb, currentColor 18%, transparent); font-family: system-ui, sans-serif; line-height: 1.5; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: color-mix(in srgb, var(--accent) 6%, Canvas); }
main { width: min(26rem, 100% - 2rem); background: Canvas; border: 1px solid var(--line); border-radius: 0.75rem; padding: 1.5rem; box-sizing: border-box; }
.brand { font-weight: 700; color: var(--accent); margin: 0 0 0.5rem; }
h1 { font-size: 1.35rem; margin: 0 0 0.75rem; }
form { display: grid; gap: 0.5rem; }
label { font-weight: 600; }
input { font: inherit; padding: 0.55rem; border: 1px solid color-mix(in srgb, currentColor 45%, transparent); border-radius: 0.4rem; }
button { font: inherit; padding: 0.55rem 1rem; border: 0; border-radius: 0.4rem; background: var(--accent); color: white; cursor: pointer; }
button.secondary { background: transparent; color: inherit; border: 1px solid var(--line); }
.actions { display: flex; gap: 0.5rem; margin-top: 0.5rem; }
.actions button { flex: 1; }
.error { color: #b91c1c; font-weight: 600; }
.hint { font-size: 0.9rem; border-top: 1px solid var(--line); margin-top: 1rem; padding-top: 0.75rem; }
code { font-family: ui-monospace, monospace; }
ul { padding-left: 1.2rem; }
`;

/** The headers of every page: styles from this origin only, no scripts, no framing. */
export const pageSecurityHeaders: Readonly<Record<string, string>> = {
  // No form-action: after the login form, the provider redirects to the client's redirect URI,
  // and browsers hold form-action against such redirects.
  'content-security-policy':
    "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export function layout(title: string, providerName: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · ${escapeHtml(providerName)}</title>
<link rel="stylesheet" href="/idp.css">
</head>
<body>
<main>
<p class="brand">${escapeHtml(providerName)}</p>
${body}
</main>
</body>
</html>
`;
}

/** What the sign-in page shows. */
export interface LoginView {
  readonly providerName: string;
  readonly uid: string;
  readonly clientName: string;
  readonly username?: string;
  readonly error?: string;
  /** Lines listing the demo accounts, when the provider was started with them. */
  readonly hint?: readonly string[];
}

export function loginPage(view: LoginView): string {
  const error =
    view.error === undefined
      ? ''
      : `<p class="error" role="alert" id="login-error">${escapeHtml(view.error)}</p>`;
  const described = view.error === undefined ? '' : ' aria-describedby="login-error"';
  const hint =
    view.hint === undefined || view.hint.length === 0
      ? ''
      : `<div class="hint"><p><strong>Demo accounts</strong></p><ul>${view.hint.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul></div>`;
  return layout(
    'Sign in',
    view.providerName,
    `<h1>Sign in to continue to ${escapeHtml(view.clientName)}</h1>
<form method="post" action="/interaction/${escapeHtml(view.uid)}/login" autocomplete="on">
${error}
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required maxlength="64" value="${escapeHtml(view.username ?? '')}" autofocus${described}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256"${described}>
<div class="actions"><button type="submit">Sign in</button></div>
</form>
<form method="post" action="/interaction/${escapeHtml(view.uid)}/abort"><button type="submit" class="secondary">Cancel</button></form>
${hint}`,
  );
}

const scopeWords: Readonly<Record<string, string>> = {
  openid: 'Confirm who you are',
  profile: 'Your name and username',
  email: 'Your email address',
  roles: 'Your roles (such as administrator)',
  offline_access: 'Keep you signed in when you are away',
};

/** What the consent page shows. */
export interface ConsentView {
  readonly providerName: string;
  readonly uid: string;
  readonly clientName: string;
  readonly userName: string;
  readonly scopes: readonly string[];
  /** Resource servers (APIs) and the scopes asked of each. */
  readonly resources: readonly { readonly indicator: string; readonly scopes: readonly string[] }[];
}

export function consentPage(view: ConsentView): string {
  const scopes = view.scopes.map((scope) => `<li>${escapeHtml(scopeWords[scope] ?? scope)}</li>`).join('');
  const resources = view.resources
    .map(
      (resource) =>
        `<li>Use <code>${escapeHtml(resource.indicator)}</code> for you${resource.scopes.length === 0 ? '' : ` (${resource.scopes.map(escapeHtml).join(', ')})`}</li>`,
    )
    .join('');
  return layout(
    'Allow access',
    view.providerName,
    `<h1>${escapeHtml(view.clientName)} wants to access your account</h1>
<p>Signed in as <strong>${escapeHtml(view.userName)}</strong>. ${escapeHtml(view.clientName)} asks to:</p>
<ul>${scopes}${resources}</ul>
<form method="post" action="/interaction/${escapeHtml(view.uid)}/confirm">
<div class="actions"><button type="submit">Allow</button></div>
</form>
<form method="post" action="/interaction/${escapeHtml(view.uid)}/abort"><button type="submit" class="secondary">Cancel</button></form>`,
  );
}

/** The sign-out question of RP-initiated logout, around the provider's own form (it carries the xsrf token). */
export function logoutPage(providerName: string, form: string): string {
  return layout(
    'Sign out',
    providerName,
    `<h1>Sign out of ${escapeHtml(providerName)} too?</h1>
<p>You signed out of the app. You can also end your session here, so the next sign-in asks for your password again.</p>
${form}
<div class="actions">
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm" class="secondary">No, stay signed in</button>
</div>`,
  );
}

export function messagePage(providerName: string, title: string, text: string): string {
  return layout(title, providerName, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>`);
}
