import type { McpServerConfig } from '@steward/mcp';
import { z } from 'zod';

// @steward/mcp validates registrations itself, but only once the registry connects them, one
// at a time, and its schema is internal. This mirror lets the service refuse a bad
// STEWARD_MCP_SERVERS before it touches anything, with every problem listed. The registry still
// checks each config again when it is registered.

const serverName = z
  .string()
  .regex(/^[a-zA-Z0-9-]{1,32}$/, 'must be 1-32 characters of a-z, A-Z, 0-9 or -')
  .refine((name) => name.toLowerCase() !== 'steward', 'is reserved for Steward’s own tools');

const common = {
  name: serverName,
  readOnlyTools: z.array(z.string()).readonly().optional(),
  trustReadOnlyHints: z.boolean().optional(),
  callTimeoutMs: z.number().int().positive().optional(),
};

const http = {
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  headers: z.record(z.string(), z.string()).optional(),
  serviceAuth: z
    .object({ audience: z.string().min(1).optional() })
    .strict()
    .optional(),
};

const serverSchema = z.discriminatedUnion(
  'transport',
  [
    z.object({ ...common, transport: z.enum(['streamable-http', 'sse']), ...http }).strict(),
    z
      .object({
        ...common,
        transport: z.literal('stdio'),
        command: z.string().min(1),
        args: z.array(z.string()).readonly().optional(),
        env: z.record(z.string(), z.string()).optional(),
        cwd: z.string().optional(),
      })
      .strict(),
  ],
  { error: "must be 'streamable-http', 'sse' or 'stdio'" },
);

/** The MCP servers of `STEWARD_MCP_SERVERS`: each a registry config, names unique. */
export const mcpServersSchema = z.array(serverSchema).superRefine((servers, context) => {
  const seen = new Set<string>();
  servers.forEach((server, index) => {
    if (seen.has(server.name))
      context.addIssue({ code: 'custom', path: [index, 'name'], message: `${server.name} is listed twice` });
    seen.add(server.name);
  });
});

// The mirror accepts every config the registry's type allows.
const _accepts: (value: McpServerConfig) => z.input<typeof serverSchema> = (value) => value;
void _accepts;

/** Parsed configs, typed as the registry takes them (zod never writes `undefined` for a missing key). */
export function asServerConfigs(servers: z.output<typeof mcpServersSchema>): McpServerConfig[] {
  return servers as McpServerConfig[];
}

/** Whether a config asks for a service JWT, which needs `STEWARD_MCP_JWT_SECRET`. */
export function wantsServiceAuth(server: z.output<typeof serverSchema>): boolean {
  return server.transport !== 'stdio' && server.serviceAuth !== undefined;
}

/** JSON with sorted keys, so two configs compare equal whatever order their keys were stored in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}
