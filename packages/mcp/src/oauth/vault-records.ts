import type { TokenVault, VaultValue } from '@steward/core';
import { z } from 'zod';

/** @internal The vault kinds this package writes. */
export const vaultKinds = {
  /** A user's tokens for one server (owner: the user; `*` for a machine token). */
  tokens: 'mcp_oauth_tokens',
  /** The client registration at one server's authorization server (owner `*`). */
  client: 'mcp_oauth_client',
  /** The secret or private key of a registered server's pre-registered client (owner `*`). */
  clientSecret: 'mcp_oauth_client_secret',
  /** A started authorization, by its state (owner `*`), so any instance completes it. */
  pending: 'mcp_oauth_pending',
} as const;

/** @internal The owner of records that belong to no user. */
export const sharedOwner = '*';

const tokenSetSchema = z.looseObject({
  access_token: z.string(),
  token_type: z.string(),
  expires_in: z.number().optional(),
  scope: z.string().optional(),
  refresh_token: z.string().optional(),
  id_token: z.string().optional(),
  issuer: z.string().optional(),
});

/** @internal What the vault holds for one user and server. */
export const tokenRecordSchema = z.object({
  /** Absent once refreshing failed: the user must authorize again (`expired`). */
  tokens: tokenSetSchema.optional(),
  /** Epoch ms the access token expires, when the server said. */
  expiresAt: z.number().optional(),
  scopes: z.array(z.string()),
  connectedAt: z.string(),
  /** How often the call `callId` asked for more scopes, so it cannot loop. */
  stepUp: z.object({ callId: z.string().optional(), count: z.number() }).optional(),
});
/** @internal */
export type TokenRecord = z.output<typeof tokenRecordSchema>;

/** @internal A started authorization. */
export const pendingRecordSchema = z.object({
  server: z.string(),
  userId: z.string(),
  runId: z.string().optional(),
  callId: z.string().optional(),
  scopes: z.array(z.string()),
  codeVerifier: z.string(),
  expiresAt: z.number(),
  resourceMetadataUrl: z.string().optional(),
  stepUps: z.number().default(0),
});
/** @internal */
export type PendingRecord = z.output<typeof pendingRecordSchema>;

/** @internal A secret kept for a registration. */
export const clientSecretRecordSchema = z.object({
  clientSecret: z.string().optional(),
  privateKey: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
});

/** @internal Reads one record and checks it against `schema`; a malformed one reads as absent. */
export async function readRecord<Schema extends z.ZodType>(
  vault: TokenVault,
  ref: { userId: string; kind: string; name: string },
  schema: Schema,
): Promise<z.output<Schema> | undefined> {
  const value = await vault.get(ref);
  if (value === undefined) return undefined;
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** @internal Writes `value`, which must be JSON (it is: records are built from parsed JSON). */
export const writeRecord = (
  vault: TokenVault,
  ref: { userId: string; kind: string; name: string },
  value: unknown,
) => vault.put(ref, JSON.parse(JSON.stringify(value)) as VaultValue);

/** @internal The scopes of a space-separated scope string. */
export const scopeList = (scope: string | undefined): string[] =>
  scope === undefined ? [] : scope.split(' ').filter((entry) => entry !== '');
