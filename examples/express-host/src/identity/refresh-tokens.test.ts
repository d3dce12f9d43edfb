import { createEnvironmentKeyProvider, createInMemoryVaultStore, createTokenVault } from '@steward/core';
import { describe, expect, it } from 'vitest';
import { createHostVault, createVaultRefreshTokenStore } from './refresh-tokens.ts';

const keys = `k1:${Buffer.alloc(32, 7).toString('base64')}`;

describe('refresh tokens in the token vault', () => {
  it('keeps each user’s token sealed: the stored record holds no plaintext, and only its user reads it', async () => {
    const store = createInMemoryVaultStore();
    const tokens = createVaultRefreshTokenStore(
      createTokenVault({ store, keys: createEnvironmentKeyProvider({ keys }) }),
    );
    await tokens.save('alice', 'rt-alice-secret-value');
    await tokens.save('bob', 'rt-bob-secret-value');
    expect(await tokens.get('alice')).toBe('rt-alice-secret-value');
    expect(await tokens.get('carol')).toBeUndefined();
    const raw = await store.get({ owner: 'alice', kind: 'oidc_refresh_token', name: 'sign-in' });
    expect(raw).toBeDefined();
    expect(JSON.stringify(raw)).not.toContain('rt-alice-secret-value');
    expect(await tokens.delete('alice')).toBe(true);
    expect(await tokens.get('alice')).toBeUndefined();
    expect(await tokens.get('bob')).toBe('rt-bob-secret-value');
  });

  it('refuses a durable store without STEWARD_VAULT_KEYS (a key made at start would be lost at restart)', () => {
    expect(() => createHostVault(createInMemoryVaultStore(), { durable: true })).toThrow(
      /STEWARD_VAULT_KEYS/,
    );
    expect(() => createHostVault(createInMemoryVaultStore(), { durable: true, keys })).not.toThrow();
    expect(() => createHostVault(createInMemoryVaultStore(), { durable: false })).not.toThrow();
  });
});
