import type { StewardError } from '@steward/core';
import { z } from 'zod';
import type { BlobStore } from './blob-store.ts';
import type { LargeResultOptions } from './large-results.ts';
import { type McpOAuthOptions, oauthOptionsSchema } from './oauth/oauth-options.ts';
import {
  type LookupAll,
  type McpRegistrationPolicy,
  registrationPolicySchema,
} from './registration-policy.ts';
import type { RegistrationStore } from './registration-store.ts';
import type { McpServerConfig } from './server-config.ts';
import { type FetchLike, signerSchema } from './service-auth.ts';
import type { ServiceTokenSigner } from './service-token-signer.ts';

/** @internal */
export const optionsSchema = z
  .object({
    servers: z.array(z.unknown()).default([]),
    store: z
      .custom<RegistrationStore>((value) => typeof (value as RegistrationStore)?.list === 'function')
      .optional(),
    registrations: registrationPolicySchema,
    clientInfo: z
      .object({ name: z.string(), version: z.string() })
      .default({ name: 'steward', version: '0.0.0' }),
    connectTimeoutMs: z.number().int().positive().default(15_000),
    circuitBreaker: z
      .object({
        windowMs: z.number().int().positive().default(60_000),
        minimumCalls: z.number().int().positive().default(5),
        failureRate: z.number().gt(0).max(1).default(0.5),
        coolDownMs: z.number().int().positive().default(30_000),
      })
      .default({ windowMs: 60_000, minimumCalls: 5, failureRate: 0.5, coolDownMs: 30_000 }),
    serviceAuth: z.object({ signer: signerSchema }).strict().optional(),
    fetch: z.custom<FetchLike>((value) => typeof value === 'function', 'must be a function').optional(),
    onWarning: z.custom<(warning: StewardError) => void>((value) => typeof value === 'function').optional(),
    largeResults: z
      .object({
        store: z.custom<BlobStore>(
          (value) => typeof (value as BlobStore)?.put === 'function',
          'must be a BlobStore',
        ),
        thresholdChars: z.number().int().positive().optional(),
        previewChars: z.number().int().positive().optional(),
      })
      .optional(),
    oauth: oauthOptionsSchema.optional(),
    _internal: z
      .object({
        lookup: z.custom<LookupAll>((value) => typeof value === 'function', 'must be a function').optional(),
        now: z.custom<() => number>((value) => typeof value === 'function', 'must be a function').optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Options of {@link createMcpRegistry}. */
export interface McpRegistryOptions {
  /**
   * The operator's servers, connected at start: any transport, stdio included. They are trusted
   * as written, never stored (they come from this configuration at every start), and a stored
   * registration or a `register()` call cannot take their names.
   */
  servers?: readonly McpServerConfig[];
  /** Keeps registrations across restarts. Default: in memory. */
  store?: RegistrationStore;
  /**
   * What registrations (`register()`, the HTTP API, rows of `store`) may reach. Default: nothing,
   * so `register()` refuses every server until `allowedOrigins` names some.
   */
  registrations?: McpRegistrationPolicy;
  /** How Steward introduces itself to servers. */
  clientInfo?: { name: string; version: string };
  /** Initialize and list timeout. Default 15,000 ms. */
  connectTimeoutMs?: number;
  /** Per-server circuit breaker. */
  circuitBreaker?: { windowMs?: number; minimumCalls?: number; failureRate?: number; coolDownMs?: number };
  /**
   * Signs the service JWTs sent to HTTP servers with `serviceAuth`, each for the origin of the
   * server's URL. The signer lives here, not in the registration, because registrations are
   * stored as plain data: a registry created over the same store with a signer restores their auth.
   */
  serviceAuth?: { signer: ServiceTokenSigner };
  /**
   * The fetch every HTTP server's transport uses (service tokens are added on top), e.g. one with
   * an undici `Agent` holding a client certificate for mTLS. Default: the global `fetch` for the
   * operator's servers, and for registrations one that connects only to addresses the
   * `registrations` policy allows.
   */
  fetch?: (url: string | URL, init?: RequestInit) => Promise<Response>;
  /** Reconnections, failed re-listings, stored registrations not loaded and the like. */
  onWarning?: (warning: StewardError) => void;
  /**
   * Results above `thresholdChars` go to `store`; the model gets a preview and a reference it
   * reads with the `steward__read_result` tool, which the registry then offers.
   */
  largeResults?: LargeResultOptions;
  /**
   * Makes the registry an OAuth client for servers with `auth` (see docs/mcp.md, "Connecting
   * OAuth-protected servers"): tokens, client registrations and pending authorizations live in
   * `vault`, and users are sent back to `redirectUrl`, the host's callback.
   */
  oauth?: McpOAuthOptions;
  /**
   * @internal Resolves host names (tests stand in for DNS; default `dns.promises.lookup`), and
   * the clock of token expiry and authorization deadlines (default `Date.now`).
   */
  _internal?: { lookup?: LookupAll; now?: () => number };
}
