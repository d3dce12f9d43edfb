import { inspect } from 'node:util';
import type { VaultStore } from '@steward/core';
import { describe, expect, it } from 'vitest';
import { flipBit, refusal, stored, suiteKeys, vaultOver } from './vault-conformance-helpers.ts';
import { runVaultRotationConformance } from './vault-rotation-conformance.ts';

/** Options of {@link runVaultConformance}. */
export interface VaultConformanceOptions {
  /** Names the store in the test titles. */
  name: string;
  /** A fresh, empty vault store for each test. */
  create: () => Promise<VaultStore> | VaultStore;
}

const kind = 'mcp_oauth_tokens';
const alice = { userId: 'alice', kind, name: 'gmail' };
const aliceRow = { owner: 'alice', kind, name: 'gmail' };
const tokens = { access_token: 'ya29.SECRET-ACCESS', refresh_token: 'SECRET-REFRESH', expires_in: 3600 };

const undecryptable = (name = 'gmail', userId = 'alice') => ({
  name: 'StewardError',
  code: 'vault_error',
  retryable: false,
  details: expect.objectContaining({ reason: 'undecryptable', userId, name }),
});

/**
 * The contract every `VaultStore` keeps under the token vault, as a Vitest suite: call it from a
 * test file of the store with a factory of fresh stores. It drives `createTokenVault` with
 * `createEnvironmentKeyProvider` keys over your store, and alters rows through the store itself
 * to check that the vault refuses what it did not write.
 *
 * @example
 * ```ts
 * runVaultConformance({ name: 'postgres', create: () => createPostgresVaultStore(storage) });
 * ```
 */
export function runVaultConformance(options: VaultConformanceOptions): void {
  describe(`Vault conformance: ${options.name}`, () => {
    it('reads back what was put, as it was; a put replaces it and keeps its creation time', async () => {
      const store = await options.create();
      const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
      const vault = vaultOver(store, suiteKeys().before(), clock);
      const odd = { text: 'x\u0000y\ud800 é 😀', nested: [{ deep: [1, -2.5e-7, null, true] }], empty: {} };
      await vault.put(alice, tokens);
      await vault.put({ userId: 'ünï😀', kind, name: 'https://issuer.example/tenant?x=1' }, odd);
      expect(await vault.get(alice)).toEqual(tokens);
      expect(await vault.get({ userId: 'ünï😀', kind, name: 'https://issuer.example/tenant?x=1' })).toEqual(
        odd,
      );
      expect(await vault.get({ ...alice, name: 'drive' })).toBeUndefined();

      clock.now = Date.parse('2026-01-02T00:00:00Z');
      await vault.put(alice, { ...tokens, access_token: 'ya29.SECRET-NEXT' });
      expect(await vault.get(alice)).toMatchObject({ access_token: 'ya29.SECRET-NEXT' });
      expect(await vault.list({ userId: 'alice', kind })).toEqual([
        { ...alice, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-02T00:00:00.000Z' },
      ]);
    });

    it('lists names and times only, by name, for one user and kind', async () => {
      const store = await options.create();
      const vault = vaultOver(store, suiteKeys().before());
      for (const name of ['slack', 'gmail', 'drive']) await vault.put({ ...alice, name }, tokens);
      await vault.put({ userId: 'bob', kind, name: 'github' }, tokens);
      await vault.put(
        { userId: 'alice', kind: 'mcp_oauth_client', name: 'gmail' },
        { client_secret: 'SECRET' },
      );

      const listed = await vault.list({ userId: 'alice', kind });
      expect(listed.map((entry) => entry.name)).toEqual(['drive', 'gmail', 'slack']);
      for (const entry of listed) {
        expect(Object.keys(entry).sort()).toEqual(['createdAt', 'kind', 'name', 'updatedAt', 'userId']);
      }
      expect(JSON.stringify(listed)).not.toContain('SECRET');
      const rows = await store.list({ owner: 'alice', kind });
      expect(rows.map((row) => Object.keys(row).sort())).toEqual(
        rows.map(() => ['createdAt', 'kind', 'name', 'owner', 'updatedAt']),
      );
      expect(await vault.list({ userId: 'carol', kind })).toEqual([]);
    });

    it('keeps users apart: another user’s secret reads as missing, and a row moved to them does not decrypt', async () => {
      const store = await options.create();
      const vault = vaultOver(store, suiteKeys().before());
      await vault.put(alice, tokens);
      expect(await vault.get({ ...alice, userId: 'bob' })).toBeUndefined();
      expect(await vault.list({ userId: 'bob', kind })).toEqual([]);

      const row = await stored(store, aliceRow);
      await store.put({ ...row, owner: 'bob' });
      await store.put({ ...row, name: 'drive' });
      await store.put({ ...row, kind: 'oidc_refresh_token' });
      expect(await refusal(vault, { ...alice, userId: 'bob' })).toMatchObject(undecryptable('gmail', 'bob'));
      expect(await refusal(vault, { ...alice, name: 'drive' })).toMatchObject(undecryptable('drive'));
      expect(await refusal(vault, { ...alice, kind: 'oidc_refresh_token' })).toMatchObject(undecryptable());
      expect(await vault.get(alice)).toEqual(tokens);
    });

    it('refuses a tampered ciphertext, IV, wrapped key or format with a typed error, never garbage', async () => {
      const store = await options.create();
      const keys = suiteKeys();
      const vault = vaultOver(store, keys.after());
      await vault.put(alice, tokens);
      await vault.put({ ...alice, name: 'other' }, { access_token: 'SECRET-OTHER' });
      const row = await stored(store, aliceRow);
      const other = await stored(store, { ...aliceRow, name: 'other' });
      const tampered = [
        { ciphertext: flipBit(row.ciphertext, 3) },
        { ciphertext: flipBit(row.ciphertext, -1) }, // the GCM tag
        { ciphertext: Buffer.from(row.ciphertext, 'base64').subarray(0, 20).toString('base64') },
        { iv: flipBit(row.iv, 5) },
        { wrappedKey: flipBit(row.wrappedKey, 30) },
        // Whole parts of another record: each is valid on its own, and still refused here.
        { wrappedKey: other.wrappedKey },
        { ciphertext: other.ciphertext, iv: other.iv },
        { keyId: 'old' },
      ];
      for (const change of tampered) {
        await store.put({ ...row, ...change });
        expect(await refusal(vault, alice), JSON.stringify(Object.keys(change))).toMatchObject(
          undecryptable(),
        );
      }
      await store.put({ ...row, keyId: 'retired' });
      expect(await refusal(vault, alice)).toMatchObject({
        code: 'vault_error',
        details: { reason: 'unknown_key', keyId: 'retired' },
      });
      await store.put({ ...row, version: 2 });
      expect(await refusal(vault, alice)).toMatchObject({
        code: 'vault_error',
        details: { reason: 'unsupported_version' },
      });
      await store.put(row);
      expect(await vault.get(alice)).toEqual(tokens);
    });

    it('deletes one secret, or every secret of a user and nobody else’s', async () => {
      const store = await options.create();
      const vault = vaultOver(store, suiteKeys().before());
      await vault.put(alice, tokens);
      await vault.put({ ...alice, name: 'drive' }, tokens);
      await vault.put({ ...alice, kind: 'oidc_refresh_token', name: 'https://issuer.example' }, 'SECRET');
      await vault.put({ ...alice, userId: 'bob' }, tokens);
      expect(await vault.delete({ ...alice, name: 'drive' })).toBe(true);
      expect(await vault.delete({ ...alice, name: 'drive' })).toBe(false);
      expect(await vault.get({ ...alice, name: 'drive' })).toBeUndefined();
      expect(await vault.deleteUser('alice')).toBe(2);
      expect(await vault.deleteUser('alice')).toBe(0);
      expect(await vault.get(alice)).toBeUndefined();
      expect(await vault.list({ userId: 'alice', kind: 'oidc_refresh_token' })).toEqual([]);
      expect(await vault.get({ ...alice, userId: 'bob' })).toEqual(tokens);
    });

    it('lets concurrent puts race: the last write wins whole, and no read meets a torn record', async () => {
      const store = await options.create();
      const vault = vaultOver(store, suiteKeys().before());
      const values = Array.from({ length: 12 }, (_unused, index) => ({
        access_token: `token-${index}`,
        index,
      }));
      await vault.put(alice, { access_token: 'token-first', index: -1 });
      const reads: unknown[] = [];
      await Promise.all([
        ...values.map((value) => vault.put(alice, value)),
        ...values.map(async () => reads.push(await vault.get(alice))),
      ]);
      const possible = [{ access_token: 'token-first', index: -1 }, ...values];
      for (const read of reads) expect(possible).toContainEqual(read);
      expect(values).toContainEqual(await vault.get(alice));
      expect(await vault.list({ userId: 'alice', kind })).toHaveLength(1);
      await vault.put(alice, { access_token: 'token-last', index: 99 });
      expect(await vault.get(alice)).toEqual({ access_token: 'token-last', index: 99 });
    });

    it('refuses a value that is not JSON or is too large with invalid_input, storing nothing', async () => {
      const store = await options.create();
      const vault = vaultOver(store, suiteKeys().before());
      await vault.put(alice, tokens);
      for (const value of [
        { ...tokens, at: new Date() },
        { ...tokens, n: 10n },
        [1, Number.POSITIVE_INFINITY],
      ]) {
        await expect(vault.put(alice, value as never)).rejects.toMatchObject({
          code: 'invalid_input',
          details: { field: 'value', reason: 'not_json' },
        });
      }
      await expect(vault.put(alice, 'x'.repeat(70_000))).rejects.toMatchObject({
        code: 'invalid_input',
        details: { field: 'value', reason: 'too_large' },
      });
      await expect(vault.put({ ...alice, name: 'a\u0000b' }, tokens)).rejects.toMatchObject({
        code: 'invalid_input',
      });
      expect(await vault.get(alice)).toEqual(tokens);
      expect(await vault.list({ userId: 'alice', kind })).toHaveLength(1);
    });

    it('shows no secret in listings, rotation results, errors or the vault itself', async () => {
      const store = await options.create();
      const keys = suiteKeys();
      const vault = vaultOver(store, keys.after());
      await vault.put(alice, tokens);
      await vault.put({ ...alice, name: 'broken' }, tokens);
      const broken = await stored(store, { ...aliceRow, name: 'broken' });
      await store.put({ ...broken, ciphertext: flipBit(broken.ciphertext, 2) });
      const shown = [
        vault,
        await vault.list({ userId: 'alice', kind }),
        await vault.rotate(),
        await refusal(vault, { ...alice, name: 'broken' }),
        await vault
          .put(alice, { ...tokens, bad: () => tokens.access_token } as never)
          .catch((error: unknown) => error),
      ];
      for (const value of shown) {
        const text = [String(value), JSON.stringify(value), inspect(value, { depth: 10 })].join('\n');
        expect(text).not.toContain('SECRET');
        expect(text).not.toContain(keys.oldKey);
        expect(text).not.toContain(keys.newKey);
      }
    });

    runVaultRotationConformance(options.create);
  });
}
