import {
  createEnvironmentKeyProvider,
  createTokenVault,
  type KeyProvider,
  type TokenVault,
  type VaultRecord,
  type VaultRecordRef,
  type VaultStore,
} from '@steward/core';

/** @internal A fresh 32-byte key as base64. */
export const randomKey = (): string =>
  Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');

/** @internal Two key sets of the suite: only the old key, and the new one in front of it. */
export function suiteKeys() {
  const [oldKey, newKey] = [randomKey(), randomKey()];
  return {
    oldKey,
    newKey,
    before: () => createEnvironmentKeyProvider({ keys: `old:${oldKey}` }),
    after: () => createEnvironmentKeyProvider({ keys: `new:${newKey},old:${oldKey}` }),
    newOnly: () => createEnvironmentKeyProvider({ keys: `new:${newKey}` }),
  };
}

/** @internal A vault over `store` with `keys` and a clock the test moves. */
export function vaultOver(
  store: VaultStore,
  keys: KeyProvider,
  clock = { now: Date.parse('2026-01-01T00:00:00Z') },
) {
  return createTokenVault({ store, keys, _internal: { now: () => clock.now } });
}

/** @internal The stored record under `ref`, which the test expects to exist. */
export async function stored(store: VaultStore, ref: VaultRecordRef): Promise<VaultRecord> {
  const record = await store.get(ref);
  if (record === undefined) throw new Error(`no record ${JSON.stringify(ref)}`);
  return record;
}

/** @internal The same base64 with one bit of byte `index` flipped (from the end when negative). */
export function flipBit(base64: string, index = 0): string {
  const bytes = Buffer.from(base64, 'base64');
  const at = ((index % bytes.length) + bytes.length) % bytes.length;
  bytes[at] = (bytes[at] as number) ^ 0x01;
  return bytes.toString('base64');
}

/** @internal Gets `ref` from `vault`, resolving the error it rejects with (or failing when it does not). */
export async function refusal(vault: TokenVault, ref: Parameters<TokenVault['get']>[0]): Promise<unknown> {
  try {
    await vault.get(ref);
  } catch (error) {
    return error;
  }
  throw new Error(`reading ${JSON.stringify(ref)} did not fail`);
}

/**
 * @internal A key provider whose first `wrapKey` call waits until the test lets it go: a
 * rotation paused half-way, deterministically, with `reached` resolved once it is there.
 */
export function pausedOnFirstWrap(keys: KeyProvider) {
  const reached = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  let calls = 0;
  const provider: KeyProvider = {
    currentKeyId: (options) => keys.currentKeyId(options),
    unwrapKey: (wrapped, options) => keys.unwrapKey(wrapped, options),
    async wrapKey(dataKey, options) {
      calls += 1;
      if (calls === 1) {
        reached.resolve();
        await release.promise;
      }
      return keys.wrapKey(dataKey, options);
    },
  };
  return { provider, reached: reached.promise, release: () => release.resolve() };
}
