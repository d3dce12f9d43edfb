import { z } from 'zod';
import { errorResponse } from './http-body.ts';
import { HttpError } from './http-error.ts';

/** @internal An origin as browsers send it: scheme, host and port, nothing else (no path, no slash). */
export const originSchema = z
  .string()
  .refine(
    (value) =>
      !value.includes('*') && URL.canParse(value) && ['http:', 'https:'].includes(new URL(value).protocol),
    'must be an http(s) origin, e.g. https://app.example.com',
  )
  .refine((value) => !URL.canParse(value) || new URL(value).origin === value, {
    message: 'must be an origin only (scheme://host[:port], lower case, no path or trailing slash)',
  });

/**
 * @internal Which browser origins may use the API from another origin (pattern B: a frontend on
 * its own origin whose pages call the orchestrator directly). A request without `Origin` is not
 * a browser's cross-origin request (a server, curl) and passes; with a listed `Origin` it gets
 * CORS headers; with any other it gets 403 before anything runs, WebSocket upgrades included
 * (browsers apply no CORS to WebSockets, so the server has to check).
 */
export interface OriginPolicy {
  /** Whether a request with this `Origin` header (or none) may go on. */
  allows(origin: string | null | undefined): boolean;
  /** The 403 for a refused origin. */
  refusal(origin: string): HttpError;
  /** The answer to a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`). */
  preflight(origin: string, methods: readonly string[]): Response;
  /** `response` with the CORS headers for `origin` (when there is one). */
  decorate(response: Response, origin: string | null): Response;
}

/** Headers a browser may send: the bearer token, JSON bodies, and SSE's resume header. */
const allowedHeaders = 'authorization, content-type, last-event-id';
/** Headers the page may read: what a 401 and a 429 say about retrying. */
const exposedHeaders = 'retry-after, www-authenticate';

/** @internal */
export function createOriginPolicy(allowedOrigins: readonly string[]): OriginPolicy {
  const allowed = new Set(allowedOrigins);
  return {
    allows: (origin) => origin === null || origin === undefined || allowed.has(origin),
    refusal: (origin) =>
      new HttpError(403, 'forbidden', `Requests from origin ${JSON.stringify(origin)} are not allowed here`),
    preflight(origin, methods) {
      return new Response(null, {
        status: 204,
        headers: {
          'access-control-allow-origin': origin,
          'access-control-allow-methods': methods.join(', '),
          'access-control-allow-headers': allowedHeaders,
          'access-control-max-age': '600',
          vary: 'Origin',
        },
      });
    },
    decorate(response, origin) {
      const headers = new Headers(response.headers);
      headers.append('vary', 'Origin');
      if (origin !== null) {
        headers.set('access-control-allow-origin', origin);
        headers.set('access-control-expose-headers', exposedHeaders);
      }
      return new Response(response.body, {
        status: response.status,
        statusText: response.statusText,
        headers,
      });
    },
  };
}

/** @internal Answers `request` through `handle` under `policy`: refused origins, preflights, CORS headers. */
export async function withOriginPolicy(
  policy: OriginPolicy,
  request: Request,
  methods: readonly string[],
  handle: () => Promise<Response>,
): Promise<Response> {
  const origin = request.headers.get('origin');
  if (!policy.allows(origin)) return errorResponse(policy.refusal(origin as string));
  if (request.method === 'OPTIONS' && origin !== null && request.headers.has('access-control-request-method'))
    return policy.preflight(origin, methods);
  return policy.decorate(await handle(), origin);
}
