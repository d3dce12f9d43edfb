import { z } from 'zod';
import { type McpServerAuth, serverAuthSchema } from './oauth/oauth-options.ts';
import { hasAuthorization } from './service-auth.ts';

const serverName = z
  .string()
  .regex(/^[a-zA-Z0-9-]{1,32}$/, 'must be 1-32 characters of a-z, A-Z, 0-9 or -')
  .refine((name) => name.toLowerCase() !== 'steward', 'is reserved for Steward’s own tools')
  .describe('Names the server; its tools are offered as `<name>__<tool>`');

/** @internal Settings every server has, operator's or registered. */
export const commonFields = {
  name: serverName,
  /** Tools the host trusts to be read-only: they need no consent. Every other tool counts as a side effect. */
  readOnlyTools: z.array(z.string()).readonly().default([]),
  /**
   * Believe the server's `readOnlyHint` annotations. Off by default: annotations are hints from
   * the server, and a server must not be able to declare itself safe.
   */
  trustReadOnlyHints: z.boolean().default(false),
  /** Per-call timeout; progress notifications from the server reset it. */
  callTimeoutMs: z.number().int().positive().default(60_000),
};

/** @internal */
export const headersField = z.record(z.string(), z.string()).default({});

/** @internal Only http: and https: URLs name a network server; `file:` or `data:` never do. */
export const httpUrlField = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

/** @internal A command to spawn: the operator's alone to give. */
export const stdioCommandFields = {
  command: z.string().min(1),
  args: z.array(z.string()).readonly().default([]),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().optional(),
};

/** @internal Plain data, so it is stored with the registration; the signer is the registry's. */
const operatorServiceAuth = z
  .object({ audience: z.string().min(1).optional() })
  .strict()
  .optional();

/**
 * @internal A server the operator configures (`createMcpRegistry({ servers })`): trusted, so it
 * may spawn a command and choose its token audience. Nothing a request or a store row holds is
 * ever parsed with this schema; those are registrations (`registration.ts`).
 */
export const serverConfigSchema = z
  .discriminatedUnion('transport', [
    z
      .object({
        ...commonFields,
        transport: z.literal('streamable-http'),
        url: httpUrlField,
        headers: headersField,
        serviceAuth: operatorServiceAuth,
        auth: serverAuthSchema.optional(),
      })
      .strict(),
    z
      .object({
        ...commonFields,
        transport: z.literal('sse'),
        url: httpUrlField,
        headers: headersField,
        serviceAuth: operatorServiceAuth,
        auth: serverAuthSchema.optional(),
      })
      .strict(),
    z.object({ ...commonFields, transport: z.literal('stdio'), ...stdioCommandFields }).strict(),
  ])
  .superRefine((config, context) => {
    if (config.transport !== 'stdio') checkAuthorizationSources(config, context);
  });

/** @internal One source of the Authorization header: headers, serviceAuth or auth. */
export function checkAuthorizationSources(
  config: { headers: Record<string, string>; serviceAuth?: object | undefined; auth?: object | undefined },
  context: z.RefinementCtx,
): void {
  if (config.serviceAuth !== undefined && config.auth !== undefined)
    context.addIssue({
      code: 'custom',
      path: ['auth'],
      message: 'is set beside serviceAuth: use one or the other',
    });
  else if (
    (config.serviceAuth !== undefined || config.auth !== undefined) &&
    hasAuthorization(config.headers)
  )
    context.addIssue({
      code: 'custom',
      path: ['headers'],
      message: `sets Authorization, which ${config.auth === undefined ? 'serviceAuth' : 'auth'} sends: use one or the other`,
    });
}

/** Settings every MCP server has. */
export interface McpServerCommon {
  /** 1–32 of `a-z A-Z 0-9 -`; the server's tools are offered as `<name>__<tool>`. */
  name: string;
  /** Tools the host trusts to be read-only: they need no consent. Every other tool counts as a side effect. */
  readOnlyTools?: readonly string[];
  /** Believe the server's `readOnlyHint` annotations. Default false: a server must not declare itself safe. */
  trustReadOnlyHints?: boolean;
  /** Per-call timeout; progress notifications reset it. Default 60,000 ms. */
  callTimeoutMs?: number;
}

/** A command the registry may spawn as a stdio MCP server. */
export interface McpStdioCommand {
  command: string;
  args?: readonly string[];
  env?: Record<string, string>;
  cwd?: string;
}

/**
 * A server the operator configures in code (`createMcpRegistry({ servers })`): Streamable HTTP
 * (falling back to legacy HTTP+SSE when the server answers 4xx on initialize), legacy SSE, or a
 * spawned stdio command. Only the operator's configuration may name a command; registrations
 * (`registry.register()`, the HTTP API, stored rows) are {@link McpServerRegistration}s.
 */
export type McpServerConfig =
  | (McpServerCommon & {
      transport: 'streamable-http' | 'sse';
      url: string;
      headers?: Record<string, string>;
      /**
       * Send a service JWT signed by the registry's `serviceAuth.signer` with every request, for
       * the origin of `url` (`https://gmail-mcp.internal:8443`). `audience` overrides it, for
       * servers that share an origin behind a gateway; only the operator may set it.
       */
      serviceAuth?: { audience?: string };
      /** OAuth, per the MCP specification's authorization: see {@link McpServerAuth}. */
      auth?: McpServerAuth;
    })
  | (McpServerCommon & { transport: 'stdio' } & McpStdioCommand);

const _config: (value: McpServerConfig) => z.input<typeof serverConfigSchema> = (value) => value;
void _config;
/** @internal */
export type ResolvedServerConfig = z.output<typeof serverConfigSchema>;
