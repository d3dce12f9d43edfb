import { parseOptions } from '@steward/core';
import { z } from 'zod';
import { type McpServerAuth, registrationAuthSchema } from './oauth/oauth-options.ts';
import { registrationRefused } from './registration-error.ts';
import {
  checkAuthorizationSources,
  commonFields,
  headersField,
  httpUrlField,
  type McpServerCommon,
  stdioCommandFields,
} from './server-config.ts';

/**
 * A server registered at run time: `registry.register()`, and through it
 * `POST /api/v1/tools/register`, or a row read back from a `RegistrationStore`. It names a network
 * server only (a registration cannot make the registry run a command) and cannot choose its
 * service token's audience: tokens are minted for the origin of `url`, the server they are sent
 * to. The registry's `registrations` policy decides which origins and addresses it may reach.
 */
export type McpServerRegistration = McpServerCommon & {
  transport: 'streamable-http' | 'sse';
  url: string;
  headers?: Record<string, string>;
  /** Send a service JWT for the origin of `url` with every request. */
  serviceAuth?: Record<string, never>;
  /**
   * OAuth (`oauth` per user, or `client_credentials`); needs the registry's `oauth` settings. A
   * client secret or private key given here is kept in the vault, never in the stored row.
   */
  auth?: Extract<McpServerAuth, { type: 'oauth' }> | Extract<McpServerAuth, { type: 'client_credentials' }>;
};

const registrationFields = <ServiceAuth extends z.ZodOptional<z.ZodObject>>(serviceAuth: ServiceAuth) =>
  z
    .discriminatedUnion('transport', [
      z
        .object({
          ...commonFields,
          transport: z.literal('streamable-http'),
          url: httpUrlField,
          headers: headersField,
          serviceAuth,
          auth: registrationAuthSchema.optional(),
        })
        .strict(),
      z
        .object({
          ...commonFields,
          transport: z.literal('sse'),
          url: httpUrlField,
          headers: headersField,
          serviceAuth,
          auth: registrationAuthSchema.optional(),
        })
        .strict(),
    ])
    .superRefine(checkAuthorizationSources);

const registrationSchema = registrationFields(z.object({}).strict().optional());

/** @internal A registration after its schema: network only, no audience. */
export type ResolvedRegistration = z.output<typeof registrationSchema>;

const _registration: (value: McpServerRegistration) => z.input<typeof registrationSchema> = (value) => value;
void _registration;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * @internal Parses a registration from untrusted input. A stdio transport or a chosen audience is
 * refused by name before the schema runs, so the error says why rather than "invalid input".
 */
export function parseRegistration(value: unknown): ResolvedRegistration {
  if (isObject(value) && value.transport === 'stdio')
    throw registrationRefused(
      ['transport'],
      'transport_not_allowed',
      'stdio cannot be registered: a command runs only from the operator’s configuration (createMcpRegistry({ servers }))',
    );
  if (isObject(value) && isObject(value.serviceAuth) && value.serviceAuth.audience !== undefined)
    throw registrationRefused(
      ['serviceAuth', 'audience'],
      'audience_not_allowed',
      'cannot be chosen by a registration: service tokens are minted for the origin of url, the server they are sent to',
    );
  return parseOptions(registrationSchema, value, 'MCP server registration', 'invalid_input');
}

/**
 * What a store row may hold. Rows are untrusted (anyone with database or admin-API access could
 * have written one), but older versions stored the operator's servers too, stdio ones and chosen
 * audiences included: those still parse, so the registry can say what it does with them.
 */
const storedRowSchema = z.union([
  registrationFields(z.object({ audience: z.string().optional() }).strict().optional()),
  z.object({ ...commonFields, transport: z.literal('stdio'), ...stdioCommandFields }).strict(),
]);

/** @internal */
export type StoredRow = z.output<typeof storedRowSchema>;

/** @internal Parses one store row; undefined (and the reason) when it is malformed. */
export function parseStoredRow(value: unknown): { row: StoredRow } | { problem: string } {
  const parsed = storedRowSchema.safeParse(value);
  return parsed.success ? { row: parsed.data } : { problem: z.prettifyError(parsed.error) };
}
