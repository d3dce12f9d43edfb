import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { StewardError } from '../errors/steward-error.ts';
import { createEnvironmentKeyProvider } from './environment-key-provider.ts';
import { createInMemoryVaultStore } from './in-memory-vault-store.ts';
import type { KeyProvider } from './key-provider.ts';
import { createTokenVault } from './token-vault.ts';
import type { VaultRecord, VaultStore } from './vault-store.ts';

const randomKey = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');
const secret = 'ya29.SECRET-ACCESS-TOKEN';
const ref = { userId: 'alice', kind: 'mcp_oauth_tokens', name: 'gmail' };

function setup(keys: KeyProvider = createEnvironmentKeyProvider({ keys: `k1:${randomKey()}` })) {
  const store = createInMemoryVaultStore();
  const warnings: StewardError[] = [];
  const vault = createTokenVault({ store, keys, onWarning: (warning) => warnings.push(warning) });
  return { store, vault, keys, warnings };
}

const shown = (value: unknown) =>
  [String(value), JSON.stringify(value), inspect(value, { depth: 10 }), String((value as Error)?.cause)].join(
    '\n',
  );

async function thrown(work: () => unknown): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('createTokenVault', () => {
  it('stores only ciphertext: the store never sees the value, and the vault gives it back', async () => {
    const { store, vault } = setup();
    await vault.put(ref, { access_token: secret, expires_in: 3600 });
    const record = await store.get({ owner: 'alice', kind: 'mcp_oauth_tokens', name: 'gmail' });
    expect(record).toMatchObject({ keyId: 'k1', version: 1 });
    expect(JSON.stringify(record)).not.toMatch(/SECRET|access_token/);
    expect(await vault.get(ref)).toEqual({ access_token: secret, expires_in: 3600 });
    expect(await vault.get({ ...ref, name: 'drive' })).toBeUndefined();
  });

  it('refuses a bad ref or call option with invalid_input naming the field, and writes nothing', async () => {
    const { store, vault } = setup();
    for (const [bad, field] of [
      [{ ...ref, userId: '' }, 'userId'],
      [{ ...ref, name: 'a\u0000b' }, 'name'],
      [{ ...ref, kind: 'x'.repeat(129) }, 'kind'],
      [{ ...ref, extra: 1 }, '(root)'],
    ] as const) {
      await expect(vault.put(bad as never, 'v')).rejects.toMatchObject({
        code: 'invalid_input',
        message: expect.stringContaining(`${field}:`),
      });
    }
    await expect(vault.get(ref, { signal: 'soon' } as never)).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(vault.list({ userId: 'alice' } as never)).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(vault.deleteUser(7 as never)).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(vault.rotate({ batchSize: 0 })).rejects.toMatchObject({ code: 'invalid_input' });
    expect(await store.list({ owner: 'alice', kind: 'mcp_oauth_tokens' })).toEqual([]);
  });

  it.each([
    ['a function', { token: secret, refresh: () => secret }, '$.refresh'],
    ['a bigint', { token: secret, n: 1n }, '$.n'],
    ['NaN', [secret, Number.NaN], '$[1]'],
    ['a Date', { token: secret, at: new Date() }, '$.at'],
    ['a Map', new Map([['token', secret]]), '$'],
    ['undefined in an array', [secret, undefined], '$[1]'],
    ['undefined', undefined, '$'],
    [
      'a cycle',
      (() => {
        const cycle: Record<string, unknown> = { token: secret };
        cycle.self = cycle;
        return cycle;
      })(),
      '$.self',
    ],
  ])('refuses %s as a value, naming where without quoting it', async (_what, value, path) => {
    const { store, vault } = setup();
    const error = await thrown(() => vault.put(ref, value as never));
    expect(error).toMatchObject({
      code: 'invalid_input',
      details: { field: 'value', path, reason: 'not_json' },
    });
    expect(shown(error)).not.toContain('SECRET');
    expect(await store.get({ owner: 'alice', kind: ref.kind, name: ref.name })).toBeUndefined();
  });

  it('keeps what JSON keeps: undefined object properties are left out, lone surrogates and NUL survive', async () => {
    const { vault } = setup();
    await vault.put(ref, { a: 'x\u0000\ud800y', b: undefined, c: [1.5, null, true], d: Object.create(null) });
    expect(await vault.get(ref)).toEqual({ a: 'x\u0000\ud800y', c: [1.5, null, true], d: {} });
  });

  it('refuses a value larger than maxValueBytes', async () => {
    const vault = createTokenVault({
      keys: createEnvironmentKeyProvider({ keys: `k1:${randomKey()}` }),
      maxValueBytes: 100,
    });
    await vault.put(ref, 'x'.repeat(98)); // 100 bytes of JSON with its quotes
    await expect(vault.put(ref, 'x'.repeat(99))).rejects.toMatchObject({
      code: 'invalid_input',
      details: { field: 'value', reason: 'too_large', bytes: 101, maxValueBytes: 100 },
    });
    expect(await vault.get(ref)).toBe('x'.repeat(98));
  });

  it('reads a record only as the one it was written as: moved or relabelled, it is a vault_error', async () => {
    const { store, vault } = setup();
    await vault.put(ref, secret);
    const record = await store.get({ owner: 'alice', kind: ref.kind, name: ref.name });
    if (record === undefined) throw new Error('stored');
    await store.put({ ...record, name: 'drive' });
    await store.put({ ...record, version: 2 });
    await expect(vault.get({ ...ref, name: 'drive' })).rejects.toMatchObject({
      code: 'vault_error',
      retryable: false,
      details: { reason: 'undecryptable', userId: 'alice', kind: ref.kind, name: 'drive', keyId: 'k1' },
    });
    await expect(vault.get(ref)).rejects.toMatchObject({
      details: { reason: 'unsupported_version', version: 2 },
    });
  });

  it('reports what the key provider throws as key_provider_failed, and an abort as the abort', async () => {
    const failing: KeyProvider = {
      currentKeyId: () => 'kms',
      wrapKey: async () => {
        throw new Error('AccessDeniedException');
      },
      unwrapKey: async () => new Uint8Array(31),
    };
    const { vault, store } = setup(failing);
    await expect(vault.put(ref, secret)).rejects.toMatchObject({
      code: 'vault_error',
      details: { reason: 'key_provider_failed', userId: 'alice' },
      cause: expect.objectContaining({ message: 'AccessDeniedException' }),
    });
    const working = setup();
    await working.vault.put(ref, secret);
    await store.put((await working.store.get({ owner: 'alice', kind: ref.kind, name: ref.name })) as never);
    // A provider that unwraps to something that is not a 32-byte key: refused, not used.
    await expect(vault.get(ref)).rejects.toMatchObject({ details: { reason: 'undecryptable' } });

    const controller = new AbortController();
    const { promise: reached, resolve: reach } = Promise.withResolvers<void>();
    const stalled = setup({
      currentKeyId: () => 'kms',
      wrapKey: (_key, options) => {
        reach();
        return new Promise((_resolve, reject) =>
          options?.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
        );
      },
      unwrapKey: async () => new Uint8Array(32),
    });
    const put = stalled.vault.put(ref, secret, { signal: controller.signal });
    await reached; // The provider is at work when the caller gives up.
    controller.abort(new StewardError('run_aborted', 'stopped'));
    await expect(put).rejects.toMatchObject({ code: 'run_aborted', message: 'stopped' });
    expect(await stalled.store.list({ owner: 'alice', kind: ref.kind })).toEqual([]);
  });

  it('shows no secret in errors, listings, rotation results or the vault itself', async () => {
    const key = randomKey();
    const { store, vault } = setup(createEnvironmentKeyProvider({ keys: `k1:${key}` }));
    await vault.put(ref, { access_token: secret });
    const record = await store.get({ owner: 'alice', kind: ref.kind, name: ref.name });
    await store.put({
      ...(record as VaultRecord),
      ciphertext: Buffer.from('garbage-of-16-bytes').toString('base64'),
    });
    const returned = [
      vault,
      await vault.list({ userId: 'alice', kind: ref.kind }),
      await vault.rotate(),
      await thrown(() => vault.get(ref)),
      await thrown(() => vault.put(ref, { access_token: secret, bad: () => 1 } as never)),
    ];
    for (const value of returned) {
      expect(shown(value)).not.toContain('SECRET');
      expect(shown(value)).not.toContain(key);
    }
  });

  it('uses STEWARD_VAULT_KEYS and an in-memory store by default', async () => {
    const saved = process.env.STEWARD_VAULT_KEYS;
    try {
      delete process.env.STEWARD_VAULT_KEYS;
      expect(() => createTokenVault()).toThrow(
        expect.objectContaining({
          code: 'invalid_options',
          message: expect.stringMatching(/STEWARD_VAULT_KEYS/),
        }),
      );
      process.env.STEWARD_VAULT_KEYS = `k1:${randomKey()}`;
      const vault = createTokenVault();
      await vault.put(ref, secret);
      expect(await vault.get(ref)).toBe(secret);
    } finally {
      if (saved === undefined) delete process.env.STEWARD_VAULT_KEYS;
      else process.env.STEWARD_VAULT_KEYS = saved;
    }
    expect(() => createTokenVault({ store: {} as VaultStore })).toThrow(
      expect.objectContaining({
        code: 'invalid_options',
        message: expect.stringMatching(/store: must be a VaultStore/),
      }),
    );
  });
});
