import { z } from 'zod';
import { isStewardError, type StewardError } from '../errors/steward-error.ts';
import { toBase64 } from '../internal/base64.ts';
import { parseOptions } from '../internal/parse-options.ts';
import { callProvider, unwrapDataKey } from './envelope.ts';
import type { KeyProvider } from './key-provider.ts';
import type { VaultRecordRef, VaultStore } from './vault-store.ts';

/** Options of `TokenVault.rotate`. */
export interface VaultRotationOptions {
  readonly signal?: AbortSignal | undefined;
  /** Records read from the store at a time. Default 100. */
  readonly batchSize?: number | undefined;
}

/** What one `rotate` did. Running it again finds only what is still not under `keyId`. */
export interface VaultRotation {
  /** The key provider's current key id, which records were re-wrapped under. */
  readonly keyId: string;
  /** Data keys now wrapped under `keyId`. */
  readonly rewrapped: number;
  /**
   * Records written or deleted while rotation ran, left as they are: a put makes a new data key
   * under the writer's current key (run `rotate` again if some writer still had an older one).
   */
  readonly skipped: number;
  /**
   * Records whose data key would not unwrap (tampered, or under a key the provider no longer
   * holds): each went to `onWarning` as a `vault_error`, and stays as it was.
   */
  readonly failed: number;
}

const optionsSchema = z
  .object({
    signal: z
      .custom<AbortSignal>((value) => value instanceof AbortSignal, 'must be an AbortSignal')
      .optional(),
    batchSize: z.number().int().min(1).max(10_000).default(100),
  })
  .strict();

/**
 * @internal Re-wraps, page by page, every record not under the current key. Pages follow the
 * store's order from the last record seen, so records that fail stay behind instead of coming
 * back in every page; a record re-wrapped drops out of the next run's pages on its own.
 */
export async function rotateVault(
  store: VaultStore,
  keys: KeyProvider,
  options: VaultRotationOptions,
  warn: (warning: StewardError) => void,
): Promise<VaultRotation> {
  const { signal, batchSize } = parseOptions(optionsSchema, options, 'TokenVault.rotate', 'invalid_input');
  const call = { signal };
  const keyId = await callProvider(undefined, undefined, call, () => keys.currentKeyId(call));
  const counts = { rewrapped: 0, skipped: 0, failed: 0 };
  let after: VaultRecordRef | undefined;
  for (;;) {
    signal?.throwIfAborted();
    const page = await store.listForRotation(keyId, { after, limit: batchSize });
    for (const record of page) {
      signal?.throwIfAborted();
      let dataKey: Uint8Array | undefined;
      try {
        dataKey = await unwrapDataKey(record, keys, call);
        const unwrapped = dataKey;
        const wrapped = await callProvider(record, record.keyId, call, () => keys.wrapKey(unwrapped, call));
        const replaced = await store.replaceWrappedKey(record, record.wrappedKey, {
          keyId: wrapped.keyId,
          wrappedKey: toBase64(wrapped.wrapped),
        });
        counts[replaced ? 'rewrapped' : 'skipped'] += 1;
      } catch (error) {
        // One record that cannot be opened must not stop the others; anything else (the store
        // failing, an abort) stops the rotation, and the next run starts where it is needed.
        if (!isStewardError(error, 'vault_error') || error.details.reason === 'key_provider_failed')
          throw error;
        counts.failed += 1;
        warn(error);
      } finally {
        dataKey?.fill(0);
      }
    }
    const last = page.at(-1);
    if (last === undefined || page.length < batchSize) break;
    after = { owner: last.owner, kind: last.kind, name: last.name };
  }
  return { keyId, ...counts };
}
