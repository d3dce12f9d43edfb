import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createEnvironmentKeyProvider } from './environment-key-provider.ts';

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const randomKey = () => base64(crypto.getRandomValues(new Uint8Array(32)));
const dataKey = () => crypto.getRandomValues(new Uint8Array(32));

/** Everything a thrown value shows, however a host might log it. */
const shown = (value: unknown) =>
  [
    String(value),
    JSON.stringify(value),
    inspect(value, { depth: 10 }),
    JSON.stringify((value as Error).cause),
  ].join('\n');

async function thrown(work: () => unknown): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('createEnvironmentKeyProvider', () => {
  const saved = process.env.STEWARD_VAULT_KEYS;
  afterEach(() => {
    if (saved === undefined) delete process.env.STEWARD_VAULT_KEYS;
    else process.env.STEWARD_VAULT_KEYS = saved;
  });

  it('reads STEWARD_VAULT_KEYS, wraps under the first key and unwraps under any of them', async () => {
    const [current, old] = [randomKey(), randomKey()];
    const before = createEnvironmentKeyProvider({ env: { STEWARD_VAULT_KEYS: `old:${old}` } });
    const after = createEnvironmentKeyProvider({
      env: { STEWARD_VAULT_KEYS: ` new:${current} , old:${old}` },
    });
    expect(await after.currentKeyId()).toBe('new');

    const key = dataKey();
    const wrappedBefore = await before.wrapKey(key);
    expect(wrappedBefore.keyId).toBe('old');
    expect(wrappedBefore.wrapped).toHaveLength(60); // IV, the key and the GCM tag
    expect(await after.unwrapKey(wrappedBefore)).toEqual(key);
    const wrappedAfter = await after.wrapKey(key);
    expect(wrappedAfter.keyId).toBe('new');
    expect(await after.unwrapKey(wrappedAfter)).toEqual(key);
    // A random IV each time: wrapping the same key twice gives different bytes.
    expect((await after.wrapKey(key)).wrapped).not.toEqual(wrappedAfter.wrapped);
  });

  it('reads process.env by default, and takes keys in code as base64, base64url or bytes', async () => {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    process.env.STEWARD_VAULT_KEYS = `k1:${base64(bytes)}`;
    const fromEnv = createEnvironmentKeyProvider();
    const fromBytes = createEnvironmentKeyProvider({ keys: [{ id: 'k1', key: bytes }] });
    const fromUrl = createEnvironmentKeyProvider({
      keys: `k1:${Buffer.from(bytes).toString('base64url')}`,
    });
    const key = dataKey();
    const wrapped = await fromEnv.wrapKey(key);
    expect(await fromBytes.unwrapKey(wrapped)).toEqual(key);
    expect(await fromUrl.unwrapKey(wrapped)).toEqual(key);
    // The caller's bytes are copied, not zeroed or kept.
    expect(bytes.some((byte) => byte !== 0)).toBe(true);
  });

  it.each([
    ['no keys at all', {}, /no keys: set STEWARD_VAULT_KEYS/],
    ['an empty variable', { env: { STEWARD_VAULT_KEYS: ' , ' } }, /needs at least one key/],
    ['a short key', { keys: 'k1:SHORTKEY' }, /0\.key: must be 32 bytes \(it is 6\)/],
    ['a key that is not base64', { keys: 'k1:SECRET!KEY%MATERIAL' }, /0\.key: must be base64 of 32 bytes/],
    ['an entry without an id', { keys: 'SECRETKEYMATERIALWITHOUTANYCOLON' }, /0\.id: must be 1 to 64|0\.key/],
    ['an id with a space', { keys: [{ id: 'a b', key: 'SECRETKEYMATERIAL' }] }, /0\.id: must be 1 to 64/],
  ])('refuses %s with invalid_options that never quotes the key', (_what, options, message) => {
    const error = (() => {
      try {
        createEnvironmentKeyProvider(options as never);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toMatchObject({ code: 'invalid_options', message: expect.stringMatching(message) });
    expect(shown(error)).not.toMatch(/SECRET|SHORTKEY/);
  });

  it('refuses a repeated key id', () => {
    const key = randomKey();
    expect(() => createEnvironmentKeyProvider({ keys: `a:${key},a:${randomKey()}` })).toThrow(
      expect.objectContaining({
        code: 'invalid_options',
        message: expect.stringMatching(/1\.id: is a duplicate/),
      }),
    );
  });

  it('refuses an unknown key id, an altered wrapped key and one relabelled with another id, with typed errors', async () => {
    const provider = createEnvironmentKeyProvider({ keys: `a:${randomKey()},b:${randomKey()}` });
    const wrapped = await provider.wrapKey(dataKey());
    await expect(provider.unwrapKey({ ...wrapped, keyId: 'gone' })).rejects.toMatchObject({
      code: 'vault_error',
      details: { reason: 'unknown_key', keyId: 'gone' },
    });
    const altered = wrapped.wrapped.slice();
    altered[20] = (altered[20] as number) ^ 1;
    await expect(provider.unwrapKey({ ...wrapped, wrapped: altered })).rejects.toMatchObject({
      code: 'vault_error',
      details: { reason: 'undecryptable', keyId: 'a' },
    });
    // Same bytes under the other key's id: the key id is bound in as additional data.
    await expect(provider.unwrapKey({ ...wrapped, keyId: 'b' })).rejects.toMatchObject({
      details: { reason: 'undecryptable' },
    });
    await expect(
      provider.unwrapKey({ ...wrapped, wrapped: wrapped.wrapped.subarray(1) }),
    ).rejects.toMatchObject({
      details: { reason: 'undecryptable' },
    });
  });

  it('shows no key in anything it returns or throws', async () => {
    const key = randomKey();
    const provider = createEnvironmentKeyProvider({ keys: `a:${key}` });
    const wrapped = await provider.wrapKey(dataKey());
    const error = await thrown(() => provider.unwrapKey({ ...wrapped, wrapped: new Uint8Array(60) }));
    for (const value of [provider, wrapped, error]) {
      expect(shown(value)).not.toContain(key);
      expect(shown(value)).not.toContain(Buffer.from(key, 'base64').toString('hex'));
    }
  });
});
