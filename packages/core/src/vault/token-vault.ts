import { z } from 'zod';
import type { StewardError } from '../errors/steward-error.ts';
import { parseOptions } from '../internal/parse-options.ts';
import { safeIdSchema } from '../internal/safe-text.ts';
import { open, seal } from './envelope.ts';
import { createEnvironmentKeyProvider } from './environment-key-provider.ts';
import { createInMemoryVaultStore } from './in-memory-vault-store.ts';
import type { KeyProvider } from './key-provider.ts';
import { rotateVault, type VaultRotation, type VaultRotationOptions } from './vault-rotation.ts';
import type { VaultRecordRef, VaultStore } from './vault-store.ts';
import { encodeVaultValue, type VaultValue } from './vault-value.ts';

/** Which secret: whose (`userId`, or e.g. `*` for one a deployment shares), what kind, and its name. */
export interface VaultRef {
  /** At most 256 characters, like every user id in Steward. */
  readonly userId: string;
  /** What sort of secret, e.g. `mcp_oauth_tokens`, `mcp_oauth_client`, `oidc_refresh_token`. At most 128. */
  readonly kind: string;
  /** Which one of that kind, e.g. an MCP server's name or an issuer's URL. At most 512. */
  readonly name: string;
}

/** A stored secret as listing shows it: which one and when, never its value. */
export interface VaultEntry extends VaultRef {
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Options every {@link TokenVault} call takes. */
export interface VaultCallOptions {
  readonly signal?: AbortSignal | undefined;
}

/**
 * Secrets at rest (OAuth tokens, client registrations, refresh tokens), encrypted per record:
 * each value is AES-256-GCM under its own random data key, with its owner, kind and name as
 * additional authenticated data, and the data key is wrapped by a {@link KeyProvider}. A copy of
 * the store without the keys reveals nothing; a record altered, or moved to another owner or
 * name, fails with a `vault_error` instead of reading as something else.
 *
 * Nothing it returns or throws holds a value but `get`'s result: errors and listings name
 * records (`userId`, `kind`, `name`, `keyId`), never their content.
 */
export interface TokenVault {
  /** Stores `value` (JSON) under `ref`, replacing what was there. */
  put(ref: VaultRef, value: VaultValue, options?: VaultCallOptions): Promise<void>;
  /**
   * The value under `ref`, or `undefined` when there is none. Parse it with your schema: the
   * vault checks it is what was stored, not what it should be. Rejects with `vault_error` when
   * the record cannot be opened as it is (tampered, moved, its key gone).
   */
  get(ref: VaultRef, options?: VaultCallOptions): Promise<VaultValue | undefined>;
  /** Deletes the value under `ref`; resolves whether there was one. */
  delete(ref: VaultRef, options?: VaultCallOptions): Promise<boolean>;
  /** A user's secrets of one kind, by name: names and times only. */
  list(
    scope: { readonly userId: string; readonly kind: string },
    options?: VaultCallOptions,
  ): Promise<readonly VaultEntry[]>;
  /** Deletes every secret of a user; resolves how many there were. */
  deleteUser(userId: string, options?: VaultCallOptions): Promise<number>;
  /**
   * Re-wraps every data key not under the key provider's current key, in batches, without
   * touching a ciphertext: reads and writes go on meanwhile, and running it again after a stop
   * or a crash carries on with what is left. See {@link VaultRotation} for what it counts.
   */
  rotate(options?: VaultRotationOptions): Promise<VaultRotation>;
}

/** Options of {@link createTokenVault}. */
export interface TokenVaultOptions {
  /** Where the encrypted records live. Default: in memory (`createInMemoryVaultStore()`). */
  store?: VaultStore;
  /** Wraps the data keys. Default: `createEnvironmentKeyProvider()` (`STEWARD_VAULT_KEYS`). */
  keys?: KeyProvider;
  /** Largest value accepted, in bytes of its JSON. Default 65,536. */
  maxValueBytes?: number;
  /** Hears about records `rotate` could not re-wrap (a `vault_error` naming the record). */
  onWarning?: (warning: StewardError) => void;
  /** @internal The clock of `createdAt` and `updatedAt`, for tests. Default `Date.now`. */
  _internal?: { now?: () => number };
}

const isFunction = (value: unknown) => typeof value === 'function';
const optionsSchema = z
  .object({
    store: z
      .custom<VaultStore>(
        (value) => isFunction((value as VaultStore | null)?.put) && isFunction((value as VaultStore).get),
        'must be a VaultStore',
      )
      .optional(),
    keys: z
      .custom<KeyProvider>(
        (value) =>
          isFunction((value as KeyProvider | null)?.wrapKey) && isFunction((value as KeyProvider).unwrapKey),
        'must be a KeyProvider',
      )
      .optional(),
    maxValueBytes: z.number().int().positive().default(65_536),
    onWarning: z.custom<(warning: StewardError) => void>(isFunction, 'must be a function').optional(),
    _internal: z
      .object({ now: z.custom<() => number>(isFunction, 'must be a function') })
      .partial()
      .strict()
      .optional(),
  })
  .strict();

const userIdSchema = safeIdSchema.min(1).max(256);
const kindSchema = safeIdSchema.min(1).max(128);
const refSchema = z
  .object({ userId: userIdSchema, kind: kindSchema, name: safeIdSchema.min(1).max(512) })
  .strict();
const scopeSchema = z.object({ userId: userIdSchema, kind: kindSchema }).strict();
const callSchema = z
  .object({
    signal: z
      .custom<AbortSignal>((value) => value instanceof AbortSignal, 'must be an AbortSignal')
      .optional(),
  })
  .strict();

const toRecordRef = ({ userId, kind, name }: VaultRef): VaultRecordRef => ({ owner: userId, kind, name });

/**
 * A {@link TokenVault} over `store` (in memory by default) with the data keys wrapped by `keys`
 * (`STEWARD_VAULT_KEYS` by default). Inputs are checked: a bad ref or a value that is not JSON
 * (or is larger than `maxValueBytes`) is an `invalid_input` naming the field, and nothing is
 * written.
 *
 * @example
 * ```ts
 * const vault = createTokenVault({
 *   store: createPostgresVaultStore(storage), // @steward/storage-postgres
 *   keys: createEnvironmentKeyProvider(), // STEWARD_VAULT_KEYS=2026-11:<32 bytes of base64>
 * });
 * await vault.put({ userId, kind: 'mcp_oauth_tokens', name: 'gmail' }, tokens);
 * const stored = await vault.get({ userId, kind: 'mcp_oauth_tokens', name: 'gmail' });
 * ```
 */
export function createTokenVault(options: TokenVaultOptions = {}): TokenVault {
  const where = 'createTokenVault';
  const config = parseOptions(optionsSchema, options, where);
  const store = config.store ?? createInMemoryVaultStore();
  const keys = config.keys ?? createEnvironmentKeyProvider();
  const now = config._internal?.now ?? Date.now;
  const check = <Schema extends z.ZodType>(schema: Schema, value: unknown, method: string) =>
    parseOptions(schema, value, `TokenVault.${method}`, 'invalid_input');
  const callOptions = (value: VaultCallOptions | undefined, method: string) =>
    check(callSchema, value ?? {}, method);

  return {
    async put(ref, value, putOptions) {
      const recordRef = toRecordRef(check(refSchema, ref, 'put'));
      const { signal } = callOptions(putOptions, 'put');
      const plaintext = encodeVaultValue(value, config.maxValueBytes);
      signal?.throwIfAborted();
      const sealed = await seal(recordRef, plaintext, keys, { signal });
      signal?.throwIfAborted();
      const at = new Date(now()).toISOString();
      await store.put({ ...recordRef, ...sealed, createdAt: at, updatedAt: at });
    },
    async get(ref, getOptions) {
      const recordRef = toRecordRef(check(refSchema, ref, 'get'));
      const { signal } = callOptions(getOptions, 'get');
      signal?.throwIfAborted();
      const record = await store.get(recordRef);
      if (record === undefined) return undefined;
      signal?.throwIfAborted();
      // Opened as the record asked for, not as stored: a row whose owner or name was changed in
      // the store authenticates against the wrong identity and fails.
      const plaintext = await open({ ...record, ...recordRef }, keys, { signal });
      return JSON.parse(new TextDecoder().decode(plaintext)) as VaultValue;
    },
    async delete(ref, deleteOptions) {
      const recordRef = toRecordRef(check(refSchema, ref, 'delete'));
      callOptions(deleteOptions, 'delete').signal?.throwIfAborted();
      return store.delete(recordRef);
    },
    async list(scope, listOptions) {
      const { userId, kind } = check(scopeSchema, scope, 'list');
      callOptions(listOptions, 'list').signal?.throwIfAborted();
      return (await store.list({ owner: userId, kind })).map((entry) => ({
        userId: entry.owner,
        kind: entry.kind,
        name: entry.name,
        createdAt: entry.createdAt,
        updatedAt: entry.updatedAt,
      }));
    },
    async deleteUser(userId, deleteOptions) {
      const owner = check(userIdSchema, userId, 'deleteUser');
      callOptions(deleteOptions, 'deleteUser').signal?.throwIfAborted();
      return store.deleteOwner(owner);
    },
    rotate: (rotateOptions) =>
      rotateVault(store, keys, rotateOptions ?? {}, (warning) => config.onWarning?.(warning)),
  };
}
