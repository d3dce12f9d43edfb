import {
  createEnvironmentKeyProvider,
  createTokenVault,
  type TokenVault,
  type VaultStore,
} from '@steward/core';

/**
 * Where a user's OIDC refresh token is kept: server-side only, never in a page, a cookie or an
 * event.
 */
export interface RefreshTokenStore {
  save(userId: string, token: string): Promise<void>;
  get(userId: string): Promise<string | undefined>;
  delete(userId: string): Promise<boolean>;
}

/**
 * Refresh tokens in Steward's token vault: each sealed with AES-256-GCM under a key of its own,
 * wrapped by the vault's key (`STEWARD_VAULT_KEYS`), bound to its user so a record moved to
 * another user does not open. A stolen database without the keys reveals none of them.
 */
export function createVaultRefreshTokenStore(vault: TokenVault): RefreshTokenStore {
  const ref = (userId: string) => ({ userId, kind: 'oidc_refresh_token', name: 'sign-in' });
  return {
    save: (userId, token) => vault.put(ref(userId), { token }),
    async get(userId) {
      const value = await vault.get(ref(userId));
      return typeof value === 'object' &&
        value !== null &&
        'token' in value &&
        typeof value.token === 'string'
        ? value.token
        : undefined;
    },
    delete: (userId) => vault.delete(ref(userId)),
  };
}

/**
 * The host's vault: `keys` (`STEWARD_VAULT_KEYS`) when set; otherwise a key made at start, which
 * only a store that forgets at restart (memory) may use: records in PostgreSQL under a forgotten
 * key could never be opened again, so that is refused.
 */
export function createHostVault(store: VaultStore, options: { keys?: string; durable: boolean }): TokenVault {
  if (options.keys === undefined && options.durable)
    throw new Error(
      'STEWARD_VAULT_KEYS is needed with DATABASE_URL: refresh tokens stored under a key made at start could not be read after a restart',
    );
  const keys =
    options.keys ?? `start:${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`;
  return createTokenVault({ store, keys: createEnvironmentKeyProvider({ keys }) });
}
