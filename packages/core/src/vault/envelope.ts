import { StewardError } from '../errors/steward-error.ts';
import { fromBase64, toBase64 } from '../internal/base64.ts';
import type { KeyProvider, KeyProviderCallOptions } from './key-provider.ts';
import type { VaultRecord, VaultRecordRef } from './vault-store.ts';

/** @internal The record format this release writes and reads. */
export const vaultFormatVersion = 1;

const dataKeyBytes = 32;
const ivBytes = 12;

/** @internal What identifies a record in errors: never its value, never a key. */
export const describeRecord = (ref: VaultRecordRef, keyId?: string) => ({
  userId: ref.owner,
  kind: ref.kind,
  name: ref.name,
  ...(keyId === undefined ? {} : { keyId }),
});

/**
 * The additional authenticated data of a record: its identity and format. A ciphertext copied
 * under another owner, kind or name (or read as another format) fails its tag. JSON of an array
 * of strings cannot be read two ways, unlike a joined string.
 */
const additionalData = (ref: VaultRecordRef, version: number) =>
  new TextEncoder().encode(JSON.stringify(['steward.vault', version, ref.owner, ref.kind, ref.name]));

function undecryptable(ref: VaultRecordRef, keyId: string, message: string, cause?: unknown): StewardError {
  return new StewardError('vault_error', message, {
    cause,
    retryable: false,
    details: { reason: 'undecryptable', ...describeRecord(ref, keyId) },
  });
}

/** @internal Runs a key provider call, turning whatever it throws into a typed `vault_error`. */
export async function callProvider<T>(
  ref: VaultRecordRef | undefined,
  keyId: string | undefined,
  options: KeyProviderCallOptions,
  work: () => Promise<T> | T,
): Promise<T> {
  options.signal?.throwIfAborted();
  try {
    return await work();
  } catch (error) {
    // An abort is the caller's doing, not the provider's failure: its reason goes on as it is.
    options.signal?.throwIfAborted();
    if (StewardError.isInstance(error)) {
      if (error.code !== 'vault_error' || ref === undefined) throw error;
      // Name the record the provider could not open, keeping the provider's own reason.
      throw new StewardError(error.code, error.message, {
        cause: error.cause ?? error,
        retryable: error.retryable,
        details: { ...error.details, ...describeRecord(ref, keyId) },
      });
    }
    throw new StewardError('vault_error', 'The vault key provider failed', {
      cause: error,
      retryable: false,
      details: { reason: 'key_provider_failed', ...(ref === undefined ? {} : describeRecord(ref, keyId)) },
    });
  }
}

/** @internal The encrypted parts of a new record holding `plaintext` (JSON bytes). */
export async function seal(
  ref: VaultRecordRef,
  plaintext: Uint8Array<ArrayBuffer>,
  keys: KeyProvider,
  options: KeyProviderCallOptions,
): Promise<Pick<VaultRecord, 'keyId' | 'wrappedKey' | 'iv' | 'ciphertext' | 'version'>> {
  const dataKey = crypto.getRandomValues(new Uint8Array(dataKeyBytes));
  try {
    const iv = crypto.getRandomValues(new Uint8Array(ivBytes));
    const key = await crypto.subtle.importKey('raw', dataKey, 'AES-GCM', false, ['encrypt']);
    const ciphertext = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv, additionalData: additionalData(ref, vaultFormatVersion) },
        key,
        plaintext,
      ),
    );
    const wrapped = await callProvider(ref, undefined, options, () => keys.wrapKey(dataKey, options));
    return {
      keyId: wrapped.keyId,
      wrappedKey: toBase64(wrapped.wrapped),
      iv: toBase64(iv),
      ciphertext: toBase64(ciphertext),
      version: vaultFormatVersion,
    };
  } finally {
    dataKey.fill(0);
  }
}

/** @internal The data key of `record`, unwrapped by the provider; the caller zeroes it. */
export async function unwrapDataKey(
  record: VaultRecord,
  keys: KeyProvider,
  options: KeyProviderCallOptions,
): Promise<Uint8Array<ArrayBuffer>> {
  const wrapped = fromBase64(record.wrappedKey);
  if (wrapped === undefined) throw undecryptable(record, record.keyId, 'The wrapped data key is not base64');
  const dataKey = await callProvider(record, record.keyId, options, () =>
    keys.unwrapKey({ keyId: record.keyId, wrapped }, options),
  );
  if (!(dataKey instanceof Uint8Array) || dataKey.length !== dataKeyBytes) {
    throw undecryptable(record, record.keyId, 'The key provider unwrapped a data key of the wrong size');
  }
  // WebCrypto takes a plain ArrayBuffer view; the provider's array (maybe a Buffer) is zeroed.
  const copy = new Uint8Array(dataKey);
  dataKey.fill(0);
  return copy;
}

/** @internal The plaintext (JSON bytes) of `record`, or a `vault_error` when it cannot be opened as it is. */
export async function open(
  record: VaultRecord,
  keys: KeyProvider,
  options: KeyProviderCallOptions,
): Promise<Uint8Array> {
  if (record.version !== vaultFormatVersion) {
    throw new StewardError('vault_error', `The vault record has format ${record.version}, unknown here`, {
      retryable: false,
      details: { reason: 'unsupported_version', version: record.version, ...describeRecord(record) },
    });
  }
  const iv = fromBase64(record.iv);
  const ciphertext = fromBase64(record.ciphertext);
  if (iv?.length !== ivBytes || ciphertext === undefined) {
    throw undecryptable(record, record.keyId, 'The vault record is malformed');
  }
  const dataKey = await unwrapDataKey(record, keys, options);
  try {
    const key = await crypto.subtle.importKey('raw', dataKey, 'AES-GCM', false, ['decrypt']);
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv, additionalData: additionalData(record, record.version) },
        key,
        ciphertext,
      ),
    );
  } catch (error) {
    throw undecryptable(
      record,
      record.keyId,
      'The vault record does not decrypt: it was altered, moved, or sealed under another data key',
      error,
    );
  } finally {
    dataKey.fill(0);
  }
}
