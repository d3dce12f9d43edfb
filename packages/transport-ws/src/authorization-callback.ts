import type { AuthorizationCompletionBody } from './oauth-completion.ts';

/**
 * What a completion page needs from its own URL: the query the API's OAuth callback passed on
 * (`state`, and `code` or `error`), ready for `client.completeAuthorization()`. `undefined` when
 * the URL carries no state or neither code nor error (not a completion). Framework-free: read
 * `window.location.href` in a browser.
 *
 * @example
 * ```ts
 * const callback = readAuthorizationCallback(window.location.href);
 * if (callback !== undefined) await client.completeAuthorization(callback);
 * ```
 */
export function readAuthorizationCallback(url: string | URL): AuthorizationCompletionBody | undefined {
  const query = new URL(url).searchParams;
  const state = query.get('state') ?? '';
  const code = query.get('code') ?? '';
  const error = query.get('error') ?? '';
  const description = query.get('error_description') ?? '';
  if (state === '' || (code === '' && error === '')) return undefined;
  return {
    state,
    ...(code === '' ? {} : { code }),
    ...(error === '' ? {} : { error }),
    ...(description === '' ? {} : { error_description: description }),
  };
}
