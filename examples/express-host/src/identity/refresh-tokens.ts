import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Where a user's OIDC refresh token is kept: server-side only, never in a page, a cookie or an
 * event. The host's in-memory store below is the stand-in until `@steward/core`'s token vault
 * (envelope encryption with a `KeyProvider`, in memory or PostgreSQL) takes its place.
 */
export interface RefreshTokenStore {
  save(userId: string, token: string): Promise<void>;
  get(userId: string): Promise<string | undefined>;
  delete(userId: string): Promise<boolean>;
}

/**
 * Refresh tokens in this process's memory, each encrypted with AES-256-GCM under a key made at
 * start (a heap dump shows ciphertext; a restart forgets them, as it forgets in-memory sessions).
 * The user id is the additional data, so one user's record cannot be swapped into another's.
 */
export function createInMemoryRefreshTokenStore(): RefreshTokenStore {
  const key = randomBytes(32);
  const records = new Map<string, Buffer>();
  return {
    async save(userId, token) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(userId));
      const sealed = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
      records.set(userId, Buffer.concat([iv, cipher.getAuthTag(), sealed]));
    },
    async get(userId) {
      const record = records.get(userId);
      if (record === undefined) return undefined;
      const decipher = createDecipheriv('aes-256-gcm', key, record.subarray(0, 12))
        .setAAD(Buffer.from(userId))
        .setAuthTag(record.subarray(12, 28));
      return Buffer.concat([decipher.update(record.subarray(28)), decipher.final()]).toString('utf8');
    },
    async delete(userId) {
      return records.delete(userId);
    },
  };
}
