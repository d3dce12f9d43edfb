import { isIP } from 'node:net';
import type { McpServerAuth, McpServerConfig } from '@steward/mcp';
import { z } from 'zod';

// @steward/mcp checks its servers itself when the registry is created, but it stops at the
// first problem, after Postgres and Redis are connected, and its schema is internal. This mirror
// lets the service refuse a bad STEWARD_MCP_SERVERS before it touches anything, with every
// problem listed. The registry still checks each config again.

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
  // Each user connects their own account (needs STEWARD_OAUTH_REDIRECT_URL). The other kinds of
  // McpServerAuth take functions or keys an environment variable does not hold well.
  auth: z
    .object({
      type: z.literal('oauth'),
      clientId: z.string().min(1).optional(),
      clientSecret: z.string().min(1).optional(),
      tokenEndpointAuthMethod: z.enum(['client_secret_basic', 'client_secret_post', 'none']).optional(),
      scopes: z.array(z.string().min(1)).readonly().optional(),
      whenDisconnected: z.enum(['connect', 'hide']).optional(),
    })
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

// The mirror accepts every config the registry's type allows, but for `auth` only its per-user kind.
type UserOAuth = Extract<McpServerAuth, { type: 'oauth' }>;
const _accepts: (value: McpServerConfig & { auth?: UserOAuth }) => z.input<typeof serverSchema> = (value) =>
  value;
void _accepts;

// The registry checks its `registrations` policy too (invalid_options), but only when it is
// created: these let the service list a bad allowlist with every other problem, before it starts.

/** A comma-separated list, blanks dropped, each item checked by `item`. */
const commaList = (item: z.ZodType<string, string>) =>
  z
    .string()
    .transform((text) =>
      text
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== ''),
    )
    .pipe(z.array(item));

const originEntry = z.string().refine((entry) => {
  if (entry === '*') return true;
  if (!URL.canParse(entry)) return false;
  const url = new URL(entry);
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.pathname === '/' &&
    url.search === '' &&
    url.hash === '' &&
    url.username === '' &&
    url.password === '' &&
    !url.hostname.replace(/^\*\./, '').includes('*')
  );
}, 'must be an origin (https://host[:port]), a subdomain pattern (https://*.example.com) or *');

const networkEntry = z.string().refine((entry) => {
  const [address = '', prefix, extra] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128));
}, 'must be an IP address or a CIDR range, e.g. 10.0.0.0/8 or fd00::/8');

/** `STEWARD_MCP_ALLOWED_ORIGINS`: the origins registrations may name. */
export const allowedOriginsSchema = commaList(originEntry);
/** `STEWARD_MCP_ALLOWED_NETWORKS`: the non-public addresses registrations may still reach. */
export const allowedNetworksSchema = commaList(networkEntry);

/** Parsed configs, typed as the registry takes them (zod never writes `undefined` for a missing key). */
export function asServerConfigs(servers: z.output<typeof mcpServersSchema>): McpServerConfig[] {
  return servers as McpServerConfig[];
}

/** Whether a config asks for a service JWT, which needs `STEWARD_MCP_JWT_SECRET`. */
export function wantsServiceAuth(server: z.output<typeof serverSchema>): boolean {
  return server.transport !== 'stdio' && server.serviceAuth !== undefined;
}

/** Whether a config asks for per-user OAuth, which needs STEWARD_OAUTH_REDIRECT_URL (and the vault). */
export function wantsUserOAuth(server: z.output<typeof serverSchema>): boolean {
  return server.transport !== 'stdio' && server.auth !== undefined;
}

/** JSON with sorted keys, so two configs compare equal whatever order their keys were stored in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}
