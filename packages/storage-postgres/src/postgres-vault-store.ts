import {
  checkStorable,
  StewardError,
  type VaultRecord,
  type VaultRecordRef,
  type VaultRecordSummary,
  type VaultStore,
} from '@steward/core';
import { z } from 'zod';
import { guarded } from './pg-errors.ts';
import type { PostgresStorage } from './postgres-storage.ts';

const base64 = z.base64();
const recordSchema = z.object({
  owner: z.string().min(1),
  kind: z.string().min(1),
  name: z.string().min(1),
  keyId: z.string().min(1),
  wrappedKey: base64,
  iv: base64,
  ciphertext: base64,
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
  version: z.number().int().positive(),
});

// node-postgres reads bytea as a Buffer, PGlite as a Uint8Array; both are Uint8Arrays.
const bytes = z.instanceof(Uint8Array).transform((value) => Buffer.from(value).toString('base64'));
const time = z.union([z.date(), z.string()]).transform((value) => new Date(value).toISOString());
const summaryRowSchema = z.object({
  owner: z.string(),
  kind: z.string(),
  name: z.string(),
  created_at: time,
  updated_at: time,
});
const rowSchema = summaryRowSchema.extend({
  key_id: z.string(),
  wrapped_key: bytes,
  iv: bytes,
  ciphertext: bytes,
  version: z.number().int(),
});

const toSummary = (row: unknown): VaultRecordSummary => {
  const { owner, kind, name, created_at, updated_at } = summaryRowSchema.parse(row);
  return { owner, kind, name, createdAt: created_at, updatedAt: updated_at };
};

const toRecord = (row: unknown): VaultRecord => {
  const parsed = rowSchema.parse(row);
  return {
    owner: parsed.owner,
    kind: parsed.kind,
    name: parsed.name,
    keyId: parsed.key_id,
    wrappedKey: parsed.wrapped_key,
    iv: parsed.iv,
    ciphertext: parsed.ciphertext,
    createdAt: parsed.created_at,
    updatedAt: parsed.updated_at,
    version: parsed.version,
  };
};

const columns = 'owner, kind, name, key_id, wrapped_key, iv, ciphertext, version, created_at, updated_at';
const decode = (text: string) => Buffer.from(text, 'base64');

/**
 * The token vault's `VaultStore` in PostgreSQL, sharing the storage's connection and schema
 * (migration 5, table `vault_records`); on PGlite too. Rows hold only what the vault sealed:
 * ciphertext, IV and wrapped data key (as `bytea`), the key id and the record's identity.
 * `storage.deleteUser(userId)` deletes the user's vault records with the rest of their data.
 *
 * @example
 * ```ts
 * const storage = createPostgresStorage({ connectionString: process.env.DATABASE_URL });
 * const vault = createTokenVault({ store: createPostgresVaultStore(storage), keys: createEnvironmentKeyProvider() });
 * ```
 */
export function createPostgresVaultStore(storage: PostgresStorage): VaultStore {
  if (typeof storage?.sql?.query !== 'function') {
    throw new StewardError(
      'invalid_options',
      'createPostgresVaultStore: needs a storage from createPostgresStorage',
    );
  }
  const db = storage.sql;
  const table = db.table('vault_records');
  const key = (ref: VaultRecordRef) => [ref.owner, ref.kind, ref.name];

  return {
    put: (record) =>
      guarded('Storing the vault record', async () => {
        const parsed = recordSchema.safeParse(record);
        if (!parsed.success) {
          throw new StewardError('storage_error', 'Storing the vault record: it is malformed', {
            retryable: false,
            details: { reason: 'invalid_record', issues: parsed.error.issues },
          });
        }
        const { owner, kind, name, keyId, wrappedKey, iv, ciphertext, version, createdAt, updatedAt } =
          parsed.data;
        checkStorable({ owner, kind, name, keyId }, 'vaultRecord');
        // One statement: a reader sees the whole old record or the whole new one.
        await db.query(
          `INSERT INTO ${table} (${columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (owner, kind, name) DO UPDATE SET key_id = excluded.key_id,
             wrapped_key = excluded.wrapped_key, iv = excluded.iv, ciphertext = excluded.ciphertext,
             version = excluded.version, updated_at = excluded.updated_at`,
          [
            owner,
            kind,
            name,
            keyId,
            decode(wrappedKey),
            decode(iv),
            decode(ciphertext),
            version,
            createdAt,
            updatedAt,
          ],
        );
      }),
    get: (ref) =>
      guarded('Reading the vault record', async () => {
        const { rows } = await db.query(
          `SELECT ${columns} FROM ${table} WHERE owner = $1 AND kind = $2 AND name = $3`,
          key(ref),
        );
        return rows[0] === undefined ? undefined : toRecord(rows[0]);
      }),
    delete: (ref) =>
      guarded(
        'Deleting the vault record',
        async () =>
          (await db.query(`DELETE FROM ${table} WHERE owner = $1 AND kind = $2 AND name = $3`, key(ref)))
            .rowCount > 0,
      ),
    list: ({ owner, kind }) =>
      guarded('Listing vault records', async () =>
        (
          await db.query(
            `SELECT owner, kind, name, created_at, updated_at FROM ${table}
             WHERE owner = $1 AND kind = $2 ORDER BY name`,
            [owner, kind],
          )
        ).rows.map(toSummary),
      ),
    deleteOwner: (owner) =>
      guarded(
        'Deleting the user’s vault records',
        async () => (await db.query(`DELETE FROM ${table} WHERE owner = $1`, [owner])).rowCount,
      ),
    listForRotation: (keyId, { after, limit }) =>
      guarded('Listing vault records to re-wrap', async () =>
        (
          await db.query(
            // In primary-key order, so each page is a walk along the index from the last one.
            `SELECT ${columns} FROM ${table}
             WHERE key_id <> $1 AND ($2::text IS NULL OR (owner, kind, name) > ($2, $3, $4))
             ORDER BY owner, kind, name LIMIT $5`,
            [keyId, after?.owner ?? null, after?.kind ?? null, after?.name ?? null, limit],
          )
        ).rows.map(toRecord),
      ),
    replaceWrappedKey: (ref, expectedWrappedKey, next) =>
      guarded('Re-wrapping the vault record', async () => {
        checkStorable(next.keyId, 'keyId');
        const { rowCount } = await db.query(
          `UPDATE ${table} SET key_id = $5, wrapped_key = $6
           WHERE owner = $1 AND kind = $2 AND name = $3 AND wrapped_key = $4`,
          [...key(ref), decode(expectedWrappedKey), next.keyId, decode(next.wrappedKey)],
        );
        return rowCount > 0;
      }),
  };
}
