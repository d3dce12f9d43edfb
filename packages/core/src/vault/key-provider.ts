/** A data key wrapped (encrypted) by a {@link KeyProvider}, and the id of the key that wrapped it. */
export interface WrappedKey {
  /** Names the key-encryption key: what {@link KeyProvider.unwrapKey} needs to find it again. */
  readonly keyId: string;
  /** The wrapped data key, in whatever form the provider produces (a KMS blob, Vault's `vault:v1:…` text as UTF-8). */
  readonly wrapped: Uint8Array;
}

/** Options every {@link KeyProvider} call takes. */
export interface KeyProviderCallOptions {
  readonly signal?: AbortSignal | undefined;
}

/**
 * The key seam of the token vault: it wraps and unwraps the random per-record data keys and
 * never sees a value. Shaped so a cloud KMS (`Encrypt`/`Decrypt` of the data key) or
 * HashiCorp Vault's transit engine is a small adapter; `createEnvironmentKeyProvider()` is the
 * built-in one, with keys from `STEWARD_VAULT_KEYS`.
 *
 * Contract:
 * - `wrapKey` wraps under the current key and says which (`keyId`); the result must not reveal
 *   the data key without the key-encryption key;
 * - `unwrapKey` returns exactly the bytes given to `wrapKey`, for any key id it still holds, and
 *   rejects anything else: a wrapped key it did not produce, altered, or under an unknown id.
 *   Throw a `StewardError` `vault_error` (`details.reason` `'undecryptable'` or `'unknown_key'`)
 *   when you can tell; anything else thrown becomes a `vault_error` `key_provider_failed`;
 * - `currentKeyId` names the key `wrapKey` uses now: rotation re-wraps every record under another.
 *
 * @example
 * ```ts
 * // AWS KMS through @aws-sdk/client-kms: the KMS key never leaves KMS.
 * const kmsKeys: KeyProvider = {
 *   currentKeyId: () => keyArn,
 *   async wrapKey(dataKey, { signal } = {}) {
 *     const out = await kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: dataKey }), { abortSignal: signal });
 *     return { keyId: out.KeyId ?? keyArn, wrapped: out.CiphertextBlob ?? new Uint8Array() };
 *   },
 *   async unwrapKey({ keyId, wrapped }, { signal } = {}) {
 *     const out = await kms.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: wrapped }), { abortSignal: signal });
 *     return out.Plaintext ?? new Uint8Array();
 *   },
 * };
 * ```
 */
export interface KeyProvider {
  /** The id of the key new data keys are wrapped with. */
  currentKeyId(options?: KeyProviderCallOptions): string | Promise<string>;
  /** Wraps a fresh 32-byte data key under the current key. */
  wrapKey(dataKey: Uint8Array, options?: KeyProviderCallOptions): Promise<WrappedKey>;
  /** Unwraps a data key wrapped by this provider, under any key id it still holds. */
  unwrapKey(wrappedKey: WrappedKey, options?: KeyProviderCallOptions): Promise<Uint8Array>;
}
