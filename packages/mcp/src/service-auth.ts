import { z } from 'zod';
import type { ServiceTokenSigner } from './service-token-signer.ts';

/** @internal A fetch as the MCP SDK's transports take it. */
export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

/** @internal */
export const signerSchema = z.custom<ServiceTokenSigner>(
  (value) => typeof (value as ServiceTokenSigner)?.tokenFor === 'function',
  'must be a ServiceTokenSigner (createServiceTokenSigner)',
);

/**
 * @internal The audience a server is named by when none is given: its URL's origin
 * (`https://gmail-mcp.internal:8443`). Servers that share an origin need explicit audiences.
 */
export function defaultAudience(url: string): string {
  return new URL(url).origin;
}

/** @internal True when `headers` already set an Authorization header (in any case). */
export function hasAuthorization(headers: Readonly<Record<string, string>>): boolean {
  return Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
}

/**
 * @internal A fetch that sends `Authorization: Bearer <token>` with every request, asking the
 * signer each time: the signer hands out its cached token and signs a new one near expiry, so
 * later requests (including an SSE stream's reconnects, which reuse the transport's fetch) carry
 * a fresh one.
 */
export function fetchWithServiceToken(
  signer: ServiceTokenSigner,
  audience: string,
  base: FetchLike = fetch,
): FetchLike {
  return async (url, init) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${await signer.tokenFor(audience)}`);
    return base(url, { ...init, headers });
  };
}
