import type { LookupFunction } from 'node:net';
import { StewardError } from '@steward/core';
import type { Agent } from 'undici';
import { parseAddress } from './address-ranges.ts';
import { registrationRefused } from './registration-error.ts';
import type { RegistrationPolicy } from './registration-policy.ts';
import type { FetchLike } from './service-auth.ts';

/** @internal The fetches of registered servers, and what they share. */
export interface GuardedFetches {
  /**
   * A fetch that reaches only `origin` (any origin when undefined: a registered server's
   * authorization server, which its metadata names), and only at addresses the policy allows.
   */
  fetchFor(origin: string | undefined): FetchLike;
  close(): Promise<void>;
}

/**
 * @internal Fetches for registered servers. A name is resolved again on every new connection
 * and the connection goes to the address that was checked: undici's `connect.lookup` is the
 * check, so DNS that changes after registration (rebinding) cannot reach a private address.
 * Redirects are refused (they could lead anywhere), and so is a request to another origin. OAuth
 * requests of a registered server (to the authorization server its metadata names, which an
 * attacker may write) may go to any origin, but to allowed addresses only, like everything else.
 *
 * With the operator's own `fetch` (mTLS), the host is resolved and checked before each request,
 * but that fetch resolves it again itself: a narrower guarantee, which docs/mcp.md states.
 */
export function createGuardedFetches(
  policy: RegistrationPolicy,
  base: FetchLike | undefined,
): GuardedFetches {
  const lookup: LookupFunction = (hostname, options, callback) => {
    policy.resolve(hostname).then(
      (addresses) => {
        const wanted =
          options.family === 4 || options.family === 6
            ? addresses.filter((entry) => entry.family === options.family)
            : addresses;
        const first = wanted[0];
        if (first === undefined) {
          const error = Object.assign(new Error(`${hostname} has no IPv${options.family} address`), {
            code: 'ENOTFOUND',
          });
          callback(error, '', 0);
        } else if (options.all === true) callback(null, [...wanted]);
        else callback(null, first.address, first.family);
      },
      (error: unknown) => callback(error as NodeJS.ErrnoException, '', 0),
    );
  };
  let undici: Promise<{ fetch: typeof import('undici').fetch; agent: Agent }> | undefined;
  // Loaded on first use, like stdio: hosts that never register a server never load it.
  const load = () => {
    undici ??= import('undici').then(({ Agent, fetch }) => ({
      fetch,
      agent: new Agent({ connect: { lookup } }),
    }));
    return undici;
  };

  return {
    fetchFor(origin) {
      return async (input, init) => {
        const url = new URL(input);
        if (origin !== undefined && url.origin !== origin)
          throw registrationRefused(
            ['url'],
            'origin_not_allowed',
            `a request to ${url.origin} left the registered origin ${origin}`,
          );
        try {
          // An address in the URL is connected to without a lookup: it is checked here.
          if (base !== undefined || parseAddress(url.hostname) !== undefined)
            await policy.resolve(url.hostname);
          if (base !== undefined) return await base(url, { ...init, redirect: 'error' });
          const { fetch, agent } = await load();
          const response = await fetch(url, { ...(init as object), redirect: 'error', dispatcher: agent });
          return response as unknown as Response;
        } catch (error) {
          // fetch reports a refused lookup as "fetch failed" with the refusal as its cause.
          const cause = (error as { cause?: unknown } | undefined)?.cause;
          throw StewardError.isInstance(cause) ? cause : error;
        }
      };
    },
    async close() {
      if (undici !== undefined) await (await undici).agent.destroy();
    },
  };
}
