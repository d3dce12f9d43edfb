import type { StewardError, VaultStore } from '@steward/core';
import { createTokenVault } from '@steward/core';
import { expect, it } from 'vitest';
import {
  flipBit,
  pausedOnFirstWrap,
  refusal,
  stored,
  suiteKeys,
  vaultOver,
} from './vault-conformance-helpers.ts';

const kind = 'mcp_oauth_tokens';
const names = ['s0', 's1', 's2', 's3', 's4'];
const value = (name: string) => ({ access_token: `SECRET-${name}` });

/**
 * @internal The rotation part of the vault conformance suite: re-wrapping pages through the
 * store's `listForRotation` and swaps keys with `replaceWrappedKey`, while the vault stays in use.
 */
export function runVaultRotationConformance(create: () => Promise<VaultStore> | VaultStore): void {
  it('rotates without downtime: every record reads during and after, keys re-wrapped, ciphertexts untouched', async () => {
    const store = await create();
    const keys = suiteKeys();
    const before = vaultOver(store, keys.before());
    for (const name of names) await before.put({ userId: 'alice', kind, name }, value(name));
    await before.put({ userId: 'bob', kind, name: 's0' }, value('bob'));
    const rowsBefore = new Map(
      await Promise.all(
        names.map(async (name) => [name, await stored(store, { owner: 'alice', kind, name })] as const),
      ),
    );

    // The rotation stops while it wraps its first record (alice's s0, first in any order).
    const paused = pausedOnFirstWrap(keys.after());
    const rotation = vaultOver(store, paused.provider).rotate({ batchSize: 2 });
    await paused.reached;
    const app = vaultOver(store, keys.after());
    for (const name of names) {
      expect(await app.get({ userId: 'alice', kind, name })).toEqual(value(name));
      expect(await before.get({ userId: 'alice', kind, name })).toEqual(value(name));
    }
    // Meanwhile the app rewrites the record being re-wrapped and adds one: both under the new key.
    await app.put({ userId: 'alice', kind, name: 's0' }, { access_token: 'SECRET-rewritten' });
    await app.put({ userId: 'alice', kind, name: 's5' }, value('s5'));
    paused.release();

    expect(await rotation).toEqual({ keyId: 'new', rewrapped: 5, skipped: 1, failed: 0 });
    expect(await app.get({ userId: 'alice', kind, name: 's0' })).toEqual({
      access_token: 'SECRET-rewritten',
    });
    expect(await app.get({ userId: 'alice', kind, name: 's5' })).toEqual(value('s5'));
    expect(await app.get({ userId: 'bob', kind, name: 's0' })).toEqual(value('bob'));
    for (const name of names.slice(1)) {
      const row = await stored(store, { owner: 'alice', kind, name });
      const old = rowsBefore.get(name);
      expect(row).toMatchObject({
        keyId: 'new',
        ciphertext: old?.ciphertext,
        iv: old?.iv,
        createdAt: old?.createdAt,
      });
      expect(row.wrappedKey).not.toBe(old?.wrappedKey);
      expect(await app.get({ userId: 'alice', kind, name })).toEqual(value(name));
    }
    // Nothing needs the old key any more, and it no longer opens anything.
    const newOnly = vaultOver(store, keys.newOnly());
    for (const name of [...names, 's5']) {
      expect(await newOnly.get({ userId: 'alice', kind, name })).toBeDefined();
    }
    expect(await refusal(before, { userId: 'alice', kind, name: 's1' })).toMatchObject({
      code: 'vault_error',
      details: { reason: 'unknown_key', keyId: 'new' },
    });
    expect(await app.rotate()).toEqual({ keyId: 'new', rewrapped: 0, skipped: 0, failed: 0 });
  });

  it('pages through every owner, past a record it cannot unwrap, re-wraps the rest and reports it', async () => {
    const store = await create();
    const keys = suiteKeys();
    const before = vaultOver(store, keys.before());
    const refs = ['carol', 'alice', 'bob'].flatMap((userId) =>
      names.slice(0, userId === 'alice' ? 5 : 2).map((name) => ({ userId, kind, name })),
    );
    for (const ref of refs) await before.put(ref, value(`${ref.userId}-${ref.name}`));
    const broken = await stored(store, { owner: 'alice', kind, name: 's2' });
    await store.put({ ...broken, wrappedKey: flipBit(broken.wrappedKey, 20) });

    const warnings: StewardError[] = [];
    const vault = createTokenVault({
      store,
      keys: keys.after(),
      onWarning: (warning) => warnings.push(warning),
    });
    expect(await vault.rotate({ batchSize: 1 })).toEqual({
      keyId: 'new',
      rewrapped: 8,
      skipped: 0,
      failed: 1,
    });
    expect(warnings).toMatchObject([
      { code: 'vault_error', details: { reason: 'undecryptable', name: 's2' } },
    ]);
    expect(await store.listForRotation('new', { limit: 100 })).toMatchObject([
      { owner: 'alice', name: 's2' },
    ]);
    expect(await vault.rotate({ batchSize: 3 })).toEqual({
      keyId: 'new',
      rewrapped: 0,
      skipped: 0,
      failed: 1,
    });
    for (const ref of refs.filter((each) => each.userId !== 'alice' || each.name !== 's2')) {
      expect(await vault.get(ref)).toEqual(value(`${ref.userId}-${ref.name}`));
    }
  });
}
