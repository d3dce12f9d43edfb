/** Which record: its owner (a user id, or e.g. `*` for what a whole deployment shares), kind and name. */
export interface VaultRecordRef {
  readonly owner: string;
  readonly kind: string;
  readonly name: string;
}

/**
 * One encrypted record as a {@link VaultStore} keeps it. Binary fields are standard base64. Only
 * the key provider can turn `wrappedKey` back into the data key, and only that data key, with this
 * exact `owner`, `kind`, `name` and `version`, opens `ciphertext`.
 */
export interface VaultRecord extends VaultRecordRef {
  /** The key-encryption key that wrapped the data key (not secret). */
  readonly keyId: string;
  /** The record's data key, wrapped by the key provider. */
  readonly wrappedKey: string;
  /** The 96-bit AES-GCM IV of `ciphertext`. */
  readonly iv: string;
  /** The value's JSON, AES-256-GCM under the data key, tag included. */
  readonly ciphertext: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The record format (bound into the ciphertext): 1. */
  readonly version: number;
}

/** A record without anything encrypted: what listing shows. */
export type VaultRecordSummary = Pick<VaultRecord, 'owner' | 'kind' | 'name' | 'createdAt' | 'updatedAt'>;

/** A page of records to re-wrap: those after `after` in the store's order, at most `limit`. */
export interface VaultRotationPage {
  readonly after?: VaultRecordRef | undefined;
  readonly limit: number;
}

/**
 * Where the token vault keeps its encrypted rows: an in-memory map by default
 * (`createInMemoryVaultStore()`), PostgreSQL with `createPostgresVaultStore(storage)` from
 * `@steward/storage-postgres`. A store never sees a value or a data key, only ciphertext.
 *
 * Contract (the vault conformance suite in `@steward/testing/conformance` checks it):
 * - `put` replaces the whole record at once (readers see the old or the new one, never a mix)
 *   and keeps the `createdAt` of the record it replaces;
 * - `listForRotation` returns records whose `keyId` is not `keyId`, in one stable order (the
 *   same for every call, e.g. by owner, kind and name), those after `page.after` only;
 * - `replaceWrappedKey` changes `keyId` and `wrappedKey` only, and only while the record still
 *   holds `expectedWrappedKey` (each put makes a new data key, so a record rewritten meanwhile
 *   keeps its new key and the re-wrap is skipped);
 * - reads return copies: changing one changes nothing stored.
 */
export interface VaultStore {
  put(record: VaultRecord): Promise<void>;
  get(ref: VaultRecordRef): Promise<VaultRecord | undefined>;
  /** Resolves whether the record existed. */
  delete(ref: VaultRecordRef): Promise<boolean>;
  /** One owner's records of one kind, by name. */
  list(scope: { readonly owner: string; readonly kind: string }): Promise<readonly VaultRecordSummary[]>;
  /** Deletes every record of an owner; resolves how many there were. */
  deleteOwner(owner: string): Promise<number>;
  listForRotation(keyId: string, page: VaultRotationPage): Promise<readonly VaultRecord[]>;
  /** Resolves whether it replaced the wrapped key (false: the record changed or is gone). */
  replaceWrappedKey(
    ref: VaultRecordRef,
    expectedWrappedKey: string,
    next: { readonly keyId: string; readonly wrappedKey: string },
  ): Promise<boolean>;
}
