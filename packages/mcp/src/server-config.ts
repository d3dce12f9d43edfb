import { z } from 'zod';
import { hasAuthorization } from './service-auth.ts';

const serverName = z
  .string()
  .regex(/^[a-zA-Z0-9-]{1,32}$/, 'must be 1-32 characters of a-z, A-Z, 0-9 or -')
  .refine((name) => name.toLowerCase() !== 'steward', 'is reserved for Steward’s own tools')
  .describe('Names the server; its tools are offered as `<name>__<tool>`');

const common = {
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

const headers = z.record(z.string(), z.string()).default({});
/** Plain data, so it is stored with the registration; the signer is the registry's. */
const serviceAuth = z
  .object({ audience: z.string().min(1).optional() })
  .strict()
  .optional();
const http = { url: z.url(), headers, serviceAuth };

/** @internal */
export const serverConfigSchema = z
  .discriminatedUnion('transport', [
    z.object({ ...common, transport: z.literal('streamable-http'), ...http }).strict(),
    z.object({ ...common, transport: z.literal('sse'), ...http }).strict(),
    z
      .object({
        ...common,
        transport: z.literal('stdio'),
        command: z.string().min(1),
        args: z.array(z.string()).readonly().default([]),
        env: z.record(z.string(), z.string()).optional(),
        cwd: z.string().optional(),
      })
      .strict(),
  ])
  .superRefine((config, context) => {
    if (
      config.transport !== 'stdio' &&
      config.serviceAuth !== undefined &&
      hasAuthorization(config.headers)
    ) {
      context.addIssue({
        code: 'custom',
        path: ['headers'],
        message: 'sets Authorization, which serviceAuth sends: use one or the other',
      });
    }
  });

/** Settings every MCP server registration has. */
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

/**
 * How to reach one MCP server: Streamable HTTP (falling back to legacy HTTP+SSE when the server
 * answers 4xx on initialize), legacy SSE, or a spawned stdio command.
 */
export type McpServerConfig =
  | (McpServerCommon & {
      transport: 'streamable-http' | 'sse';
      url: string;
      headers?: Record<string, string>;
      /**
       * Send a service JWT signed by the registry's `serviceAuth.signer` with every request.
       * `audience` names this server in the token; default: the origin of `url`
       * (`https://gmail-mcp.internal:8443`). Only the audience is stored with the registration.
       */
      serviceAuth?: { audience?: string };
    })
  | (McpServerCommon & {
      transport: 'stdio';
      command: string;
      args?: readonly string[];
      env?: Record<string, string>;
      cwd?: string;
    });

const _config: (value: McpServerConfig) => z.input<typeof serverConfigSchema> = (value) => value;
void _config;
/** @internal */
export type ResolvedServerConfig = z.output<typeof serverConfigSchema>;
