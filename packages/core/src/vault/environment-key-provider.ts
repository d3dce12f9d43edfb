import { z } from 'zod';
import { StewardError } from '../errors/steward-error.ts';
import { fromBase64 } from '../internal/base64.ts';
import { parseOptions } from '../internal/parse-options.ts';
import type { KeyProvider, WrappedKey } from './key-provider.ts';

/** One key-encryption key of {@link createEnvironmentKeyProvider}: 32 random bytes and their id. */
export interface VaultKey {
  /** Letters, digits, `.`, `_` and `-`, at most 64 (stored with each record; never secret). */
  readonly id: string;
  /** 32 bytes, or their base64 (standard or base64url), e.g. from `openssl rand -base64 32`. */
  readonly key: string | Uint8Array;
}

/** Options of {@link createEnvironmentKeyProvider}. */
export interface EnvironmentKeyProviderOptions {
  /**
   * The keys, current first: an array, or text in the `STEWARD_VAULT_KEYS` format
   * (`id1:base64key,id2:base64key`). Default: `STEWARD_VAULT_KEYS` from `env`.
   */
  keys?: string | readonly VaultKey[];
  /** Where to read `STEWARD_VAULT_KEYS` when `keys` is not given. Default `process.env`, where there is one. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The environment variable {@link createEnvironmentKeyProvider} reads. */
export const vaultKeysVariable = 'STEWARD_VAULT_KEYS';

const keyBytes = 32;
const ivBytes = 12;
const tagBytes = 16;

// The messages below never quote what they were given: it may be a key.
const keySchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1 to 64 letters, digits, ".", "_" or "-"'),
  key: z.union([z.string(), z.instanceof(Uint8Array)]).transform((key, context) => {
    const bytes = typeof key === 'string' ? fromBase64(key.trim()) : new Uint8Array(key);
    if (bytes?.length !== keyBytes) {
      context.addIssue({
        code: 'custom',
        message:
          bytes === undefined
            ? 'must be base64 of 32 bytes (it is not base64)'
            : `must be 32 bytes (it is ${bytes.length})`,
      });
      return z.NEVER;
    }
    return bytes;
  }),
});

const keysSchema = z
  .array(keySchema)
  .min(1, 'needs at least one key')
  .superRefine((keys, context) => {
    const seen = new Set<string>();
    keys.forEach((key, index) => {
      if (seen.has(key.id))
        context.addIssue({ code: 'custom', path: [index, 'id'], message: 'is a duplicate' });
      seen.add(key.id);
    });
  });

const optionsSchema = z
  .object({
    keys: z.union([z.string(), z.array(z.object({ id: z.unknown(), key: z.unknown() }))]).optional(),
    env: z.record(z.string(), z.string().optional()).optional(),
  })
  .strict();

/** Splits `id1:key1,id2:key2` without judging the parts: the key schema does, without echoing them. */
function splitKeyList(text: string): { id: string; key: string }[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const colon = entry.indexOf(':');
      return colon === -1
        ? { id: entry, key: '' }
        : { id: entry.slice(0, colon), key: entry.slice(colon + 1) };
    });
}

function processEnv(): Readonly<Record<string, string | undefined>> | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
}

const vaultError = (reason: string, message: string, keyId: string, cause?: unknown) =>
  new StewardError('vault_error', message, { details: { reason, keyId }, cause, retryable: false });

/**
 * A {@link KeyProvider} over key-encryption keys held by the process: `STEWARD_VAULT_KEYS`
 * (`id1:base64key,id2:base64key`, the first is current) or keys passed in code. Data keys are
 * wrapped with AES-256-GCM under the current key, with a random IV and the key id as additional
 * data (a wrapped key relabelled with another id does not unwrap). The keys are imported as
 * non-extractable WebCrypto keys; nothing this provider returns or throws contains them.
 *
 * Rotating: put a new key first and keep the old ones (`new:…,old:…`), deploy, run
 * `vault.rotate()`, then drop the old key.
 *
 * @throws {@link StewardError} `invalid_options` when there is no key, a key is not 32 bytes of
 * base64, or an id is malformed or repeated (`details.issues`, naming the entry, not the key).
 *
 * @example
 * ```ts
 * // STEWARD_VAULT_KEYS=2026-11:<openssl rand -base64 32>
 * const vault = createTokenVault({ store, keys: createEnvironmentKeyProvider() });
 * ```
 */
export function createEnvironmentKeyProvider(options: EnvironmentKeyProviderOptions = {}): KeyProvider {
  const where = 'createEnvironmentKeyProvider';
  const config = parseOptions(optionsSchema, options, where);
  const source = config.keys ?? (config.env ?? processEnv())?.[vaultKeysVariable];
  if (source === undefined || source === '') {
    throw new StewardError(
      'invalid_options',
      `${where}: no keys: set ${vaultKeysVariable} (id:base64key, current first) or pass keys`,
      { details: { issues: [{ path: ['keys'], message: 'is required' }] } },
    );
  }
  const parsed = parseOptions(keysSchema, typeof source === 'string' ? splitKeyList(source) : source, where);
  const keys = new Map<string, Promise<CryptoKey>>();
  for (const { id, key } of parsed) {
    const imported = crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt']);
    imported.catch(() => {}); // Awaited on use; a rejection must not go unhandled meanwhile.
    keys.set(id, imported);
    key.fill(0); // importKey copied it; our copy of the key is not kept around.
  }
  const currentKeyId = (parsed[0] as { id: string }).id;
  const additionalData = (keyId: string) => new TextEncoder().encode(`steward.vault.key:${keyId}`);

  return {
    currentKeyId: () => currentKeyId,
    async wrapKey(dataKey) {
      const key = await (keys.get(currentKeyId) as Promise<CryptoKey>);
      const iv = crypto.getRandomValues(new Uint8Array(ivBytes));
      const plain = new Uint8Array(dataKey);
      const sealed = new Uint8Array(
        await crypto.subtle
          .encrypt({ name: 'AES-GCM', iv, additionalData: additionalData(currentKeyId) }, key, plain)
          .finally(() => plain.fill(0)),
      );
      const wrapped = new Uint8Array(ivBytes + sealed.length);
      wrapped.set(iv);
      wrapped.set(sealed, ivBytes);
      return { keyId: currentKeyId, wrapped };
    },
    async unwrapKey({ keyId, wrapped }: WrappedKey) {
      const key = keys.get(keyId);
      if (key === undefined) {
        throw vaultError('unknown_key', `The vault key ${keyId} is not among the provider's keys`, keyId);
      }
      const bytes = new Uint8Array(wrapped);
      if (bytes.length !== ivBytes + keyBytes + tagBytes) {
        throw vaultError('undecryptable', 'The wrapped data key has the wrong length', keyId);
      }
      try {
        return new Uint8Array(
          await crypto.subtle.decrypt(
            { name: 'AES-GCM', iv: bytes.subarray(0, ivBytes), additionalData: additionalData(keyId) },
            await key,
            bytes.subarray(ivBytes),
          ),
        );
      } catch (error) {
        throw vaultError(
          'undecryptable',
          `The data key does not unwrap under vault key ${keyId}`,
          keyId,
          error,
        );
      }
    },
  };
}
