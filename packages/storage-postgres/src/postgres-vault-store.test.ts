import { PGlite } from '@electric-sql/pglite';
import { createEnvironmentKeyProvider, createTokenVault } from '@steward/core';
import { runVaultConformance } from '@steward/testing/conformance';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresStorage } from './postgres-storage.ts';
import { createPostgresVaultStore } from './postgres-vault-store.ts';
import { useTestSchemas } from './test-helpers.ts';

const db = useTestSchemas();
const pglite = new PGlite();
let counter = 0;
afterAll(() => pglite.close());

runVaultConformance({ name: 'postgres', create: () => createPostgresVaultStore(db.storage()) });
runVaultConformance({
  name: 'pglite',
  create: () =>
    createPostgresVaultStore(createPostgresStorage({ pglite, schema: `steward_vault_pglite_${counter++}` })),
});

const keys = () =>
  createEnvironmentKeyProvider({
    keys: `k1:${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`,
  });

describe('createPostgresVaultStore', () => {
  it('stores ciphertext only, as bytea, and keeps it across a restart', async () => {
    const schema = db.schema('vault');
    const provider = keys();
    const first = createTokenVault({ store: createPostgresVaultStore(db.storage(schema)), keys: provider });
    await first.put(
      { userId: 'alice', kind: 'mcp_oauth_tokens', name: 'gmail' },
      { access_token: 'SECRET-TOKEN' },
    );
    const second = createTokenVault({ store: createPostgresVaultStore(db.storage(schema)), keys: provider });
    expect(await second.get({ userId: 'alice', kind: 'mcp_oauth_tokens', name: 'gmail' })).toEqual({
      access_token: 'SECRET-TOKEN',
    });
    await db.admin(async (client) => {
      const { rows } = await client.query(`SELECT * FROM ${pg.escapeIdentifier(schema)}.vault_records`);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ owner: 'alice', key_id: 'k1', version: 1 });
      expect(rows[0].ciphertext).toBeInstanceOf(Buffer);
      expect(JSON.stringify(rows)).not.toMatch(/SECRET|access_token/);
    });
  });

  it('is emptied of a user by storage.deleteUser, with the rest of their data', async () => {
    const storage = db.storage();
    const vault = createTokenVault({ store: createPostgresVaultStore(storage), keys: keys() });
    await vault.put({ userId: 'alice', kind: 'mcp_oauth_tokens', name: 'gmail' }, 'SECRET');
    await vault.put(
      { userId: 'alice', kind: 'oidc_refresh_token', name: 'https://issuer.example' },
      'SECRET',
    );
    await vault.put({ userId: 'bob', kind: 'mcp_oauth_tokens', name: 'gmail' }, 'SECRET');
    expect(await storage.deleteUser('alice')).toMatchObject({ vault_records: 2 });
    expect(await vault.list({ userId: 'alice', kind: 'mcp_oauth_tokens' })).toEqual([]);
    expect(await vault.get({ userId: 'bob', kind: 'mcp_oauth_tokens', name: 'gmail' })).toBe('SECRET');
  });

  it('refuses a malformed record with a storage_error, and a storage that is not Postgres', async () => {
    const store = createPostgresVaultStore(db.storage());
    const record = {
      owner: 'alice',
      kind: 'k',
      name: 'n',
      keyId: 'k1',
      wrappedKey: 'not base64!',
      iv: 'AAAAAAAAAAAAAAAA',
      ciphertext: 'AAAA',
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
      version: 1,
    };
    await expect(store.put(record)).rejects.toMatchObject({
      code: 'storage_error',
      retryable: false,
      details: { reason: 'invalid_record' },
    });
    expect(await store.get(record)).toBeUndefined();
    expect(() => createPostgresVaultStore({} as never)).toThrow(
      expect.objectContaining({ code: 'invalid_options' }),
    );
  });
});
