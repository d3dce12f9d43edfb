import type { Assistant, StewardError } from '@steward/core';
import { z } from 'zod';
import type { Authenticator } from './auth.ts';
import { type Authorizations, authorizationsSchema } from './connections.ts';
import { originSchema } from './origins.ts';
import type { ToolRegistrar } from './tool-registrar.ts';

/**
 * The limits the API puts on every user by default: a served API faces users it does not
 * control, so it is safe unless told otherwise. (`new Assistant()` itself has no limits: code
 * that embeds it admits what it asks for.)
 */
export const defaultApiLimits = {
  /** Runs a user may start: 30 a minute. */
  rateLimit: { runs: 30, windowMs: 60_000 },
  /** Runs a user may have active (running or awaiting approval) at once: 5. */
  maxActiveRuns: 5,
} as const;

/** Options of {@link createStewardApi}. */
export interface StewardApiOptions {
  assistant: Assistant;
  auth: Authenticator;
  /** Enables `POST /api/v1/tools/register` (admins only). */
  tools?: ToolRegistrar;
  /**
   * Enables the connection routes: `GET /api/v1/oauth/callback` (the OAuth redirect URI; no
   * bearer), `POST /api/v1/oauth/complete` (the signed-in user finishes it), `GET
   * /api/v1/connections`, `POST` and `DELETE /api/v1/connections/:server`. The MCP registry of
   * `@steward/mcp` with `oauth` is one. A completion that a run's waiting call needed resumes the
   * run (`assistant.completeAuthorization`).
   */
  authorizations?: Authorizations;
  /** How the OAuth redirect reaches a page that knows the browser's user. */
  oauth?: {
    /**
     * The host's completion page (`https://app.example/connections/callback`). The callback never
     * redeems a code itself (it cannot tell whose browser it is): it answers 303 to this URL with
     * `code`, `state`, `error` and `error_description` in the query, and the page, where the user
     * is signed in, posts them to `POST /api/v1/oauth/complete` with the user's token. Without it
     * the callback answers an error page saying the deployment must configure one.
     */
    completionUrl?: string;
  };
  /** Largest accepted request body. Default 1 MiB; larger gets 413. */
  maxBodyBytes?: number;
  /** How often an idle SSE stream sends a comment so proxies keep it open. Default 15,000 ms. */
  keepAliveMs?: number;
  /**
   * Runs a user may start within `windowMs` through `respond`; more get 429 `rate_limited` with
   * `Retry-After`. Default 30 per 60,000 ms; `false` turns it off. Counted by the assistant's
   * coordinator, so with Redis it holds across every instance.
   */
  rateLimit?: { runs: number; windowMs: number } | false;
  /**
   * Runs a user may have active (running or awaiting approval) at once; more get 429
   * `too_many_active_runs` with `Retry-After`. Default 5; `false` turns it off. Held across
   * instances like {@link rateLimit}; an instance that dies frees its runs' places within three
   * heartbeats.
   */
  maxActiveRuns?: number | false;
  /**
   * Where failures the response only names (storage, internal: 5xx, and the same failures on a
   * stream) are reported in full, with the request or run id the client was given. Default
   * `console.warn`.
   */
  onWarning?: (warning: StewardError) => void;
  /**
   * Browser origins (`https://app.example.com`) whose pages may call the API and open `/ws`
   * directly, from another origin (the architecture's pattern B). When set, a request with an
   * `Origin` header that is not listed gets 403 (WebSocket upgrades too), listed origins get CORS
   * headers and their preflights answered, and requests without `Origin` (servers, curl) pass.
   * List your own origin too if your pages share the API's. Default: unset, no CORS headers and
   * no `Origin` check.
   */
  allowedOrigins?: readonly string[];
}

/** @internal */
export const apiOptionsSchema = z
  .object({
    assistant: z.custom<Assistant>(
      (value) => typeof (value as Assistant | undefined)?.streamRun === 'function',
      'must be an Assistant',
    ),
    auth: z.custom<Authenticator>(
      (value) => typeof (value as Authenticator | undefined)?.authenticate === 'function',
      'must be an Authenticator (createJwtAuth())',
    ),
    tools: z
      .custom<ToolRegistrar>(
        (value) => typeof (value as ToolRegistrar | undefined)?.register === 'function',
        'must have register()',
      )
      .optional(),
    authorizations: authorizationsSchema.optional(),
    oauth: z
      .object({
        completionUrl: z
          .url({ protocol: /^https?$/ })
          .refine((url) => !URL.canParse(url) || new URL(url).hash === '', 'must have no #fragment')
          .optional(),
      })
      .strict()
      .optional(),
    maxBodyBytes: z
      .number()
      .int()
      .positive()
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    keepAliveMs: z.number().int().positive().max(3_600_000).default(15_000),
    rateLimit: z
      .union([
        z.literal(false),
        z
          .object({
            runs: z.number().int().positive(),
            windowMs: z.number().int().positive().max(2_147_483_647),
          })
          .strict(),
      ])
      .default({ ...defaultApiLimits.rateLimit }),
    maxActiveRuns: z
      .union([z.literal(false), z.number().int().positive()])
      .default(defaultApiLimits.maxActiveRuns),
    onWarning: z
      .custom<(warning: StewardError) => void>((value) => typeof value === 'function', 'must be a function')
      .default(() => (warning: StewardError) => console.warn(warning)),
    allowedOrigins: z.array(originSchema).optional(),
  })
  .strict();
