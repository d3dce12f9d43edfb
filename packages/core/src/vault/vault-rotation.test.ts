import { describe, expect, it } from 'vitest';
import type { StewardError } from '../errors/steward-error.ts';
import { createEnvironmentKeyProvider } from './environment-key-provider.ts';
import { createInMemoryVaultStore } from './in-memory-vault-store.ts';
import type { KeyProvider } from './key-provider.ts';
import { createTokenVault } from './token-vault.ts';
import type { VaultRecord } from './vault-store.ts';

const randomKey = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');
const kind = 'mcp_oauth_tokens';

async function storeUnderOldKey(count: number) {
  const [oldKey, newKey] = [randomKey(), randomKey()];
  const store = createInMemoryVaultStore();
  const before = createTokenVault({ store, keys: createEnvironmentKeyProvider({ keys: `old:${oldKey}` }) });
  for (let index = 0; index < count; index += 1) {
    await before.put({ userId: 'alice', kind, name: `server-${index}` }, { token: `t${index}` });
  }
  const keys = createEnvironmentKeyProvider({ keys: `new:${newKey},old:${oldKey}` });
  return { store, keys, oldKey, newKey };
}

const keyIds = async (store: ReturnType<typeof createInMemoryVaultStore>) =>
  (await store.listForRotation('none', { limit: 1_000 })).map((record) => record.keyId);

describe('TokenVault.rotate', () => {
  it('carries on where a stopped rotation left off', async () => {
    const { store, keys } = await storeUnderOldKey(5);
    const controller = new AbortController();
    let wraps = 0;
    // Stops the rotation while it wraps its third key: two are done, the third is not stored.
    const stopping: KeyProvider = {
      ...keys,
      wrapKey: async (dataKey, options) => {
        wraps += 1;
        if (wraps === 3) controller.abort(new Error('deploy'));
        options?.signal?.throwIfAborted();
        return keys.wrapKey(dataKey);
      },
    };
    const vault = createTokenVault({ store, keys: stopping });
    await expect(vault.rotate({ signal: controller.signal, batchSize: 2 })).rejects.toThrow('deploy');
    expect(await keyIds(store)).toEqual(['new', 'new', 'old', 'old', 'old']);

    const resumed = createTokenVault({ store, keys });
    expect(await resumed.rotate({ batchSize: 2 })).toEqual({
      keyId: 'new',
      rewrapped: 3,
      skipped: 0,
      failed: 0,
    });
    expect(await keyIds(store)).toEqual(['new', 'new', 'new', 'new', 'new']);
    expect(await resumed.get({ userId: 'alice', kind, name: 'server-4' })).toEqual({ token: 't4' });
    expect(await resumed.rotate()).toEqual({ keyId: 'new', rewrapped: 0, skipped: 0, failed: 0 });
  });

  it('counts and reports a record it cannot unwrap, and re-wraps the others', async () => {
    const { store, keys } = await storeUnderOldKey(3);
    const broken = await store.get({ owner: 'alice', kind, name: 'server-0' });
    await store.put({ ...(broken as VaultRecord), keyId: 'lost' });
    const warnings: StewardError[] = [];
    const vault = createTokenVault({ store, keys, onWarning: (warning) => warnings.push(warning) });
    expect(await vault.rotate({ batchSize: 1 })).toEqual({
      keyId: 'new',
      rewrapped: 2,
      skipped: 0,
      failed: 1,
    });
    expect(warnings).toMatchObject([
      { code: 'vault_error', details: { reason: 'unknown_key', keyId: 'lost', name: 'server-0' } },
    ]);
    // It stays as it was, and a second run finds it again (and only it).
    expect(await vault.rotate({ batchSize: 1 })).toMatchObject({ rewrapped: 0, failed: 1 });
  });

  it('stops when the key provider fails, instead of counting every record as failed', async () => {
    const { store, keys } = await storeUnderOldKey(3);
    const down: KeyProvider = {
      ...keys,
      wrapKey: async () => {
        throw new Error('KMS unreachable');
      },
    };
    const vault = createTokenVault({ store, keys: down });
    await expect(vault.rotate()).rejects.toMatchObject({
      code: 'vault_error',
      details: { reason: 'key_provider_failed', name: 'server-0' },
    });
    expect(await keyIds(store)).toEqual(['old', 'old', 'old']);
  });
});
