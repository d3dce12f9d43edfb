import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createInMemoryVaultStore } from './in-memory-vault-store.ts';
import type { KeyProvider } from './key-provider.ts';
import { createTokenVault } from './token-vault.ts';

// The KMS-shaped adapter of docs/storage.md ("A key provider of your own"), kept here so it is
// type-checked and run: HashiCorp Vault's transit engine over plain fetch. Keep the two in step.

// ---- from the docs ----
const encrypted = z.object({ data: z.object({ ciphertext: z.string().regex(/^vault:v\d+:/) }) });
const decrypted = z.object({ data: z.object({ plaintext: z.string() }) });
const keyInfo = z.object({ data: z.object({ latest_version: z.number().int() }) });

/** Data keys wrapped by a transit key that never leaves Vault; Vault versions it (`steward:v3`). */
function createTransitKeyProvider(options: {
  url: string;
  token: string;
  key: string;
  fetch?: typeof fetch;
}): KeyProvider {
  async function call<Schema extends z.ZodType>(
    schema: Schema,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ) {
    const response = await (options.fetch ?? fetch)(`${options.url}/v1/transit/${path}/${options.key}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'x-vault-token': options.token, 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
      signal: signal ?? null,
    });
    if (!response.ok) throw new Error(`Vault transit ${path}: HTTP ${response.status}`);
    return schema.parse(await response.json()) as z.output<Schema>;
  }
  return {
    async currentKeyId({ signal } = {}) {
      const { data } = await call(keyInfo, 'keys', undefined, signal);
      return `${options.key}:v${data.latest_version}`;
    },
    async wrapKey(dataKey, { signal } = {}) {
      const plaintext = btoa(String.fromCharCode(...dataKey));
      const { data } = await call(encrypted, 'encrypt', { plaintext }, signal);
      // `vault:v3:…` names the key version that wrapped it.
      const version = data.ciphertext.split(':')[1];
      return { keyId: `${options.key}:${version}`, wrapped: new TextEncoder().encode(data.ciphertext) };
    },
    async unwrapKey({ wrapped }, { signal } = {}) {
      const ciphertext = new TextDecoder().decode(wrapped);
      const { data } = await call(decrypted, 'decrypt', { ciphertext }, signal);
      return Uint8Array.from(atob(data.plaintext), (character) => character.charCodeAt(0));
    },
  };
}
// ---- end of the docs ----

/**
 * A stand-in for Vault's transit HTTP API (`/v1/transit/{keys,encrypt,decrypt}/:name`): AES-GCM
 * under versioned keys, ciphertexts as `vault:v<version>:<base64>`, and `rotate()` adding a version.
 */
function fakeTransit(token: string) {
  const versions: CryptoKey[] = [];
  const rotate = async () => {
    versions.push(
      await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']),
    );
  };
  const requests: string[] = [];
  const reply = (status: number, data?: unknown) =>
    new Response(JSON.stringify(data === undefined ? { errors: ['nope'] } : { data }), { status });
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    requests.push(`${init?.method} ${url.pathname}`);
    if (new Headers(init?.headers).get('x-vault-token') !== token) return reply(403);
    const [, , , operation] = url.pathname.split('/');
    const body = init?.body === null || init?.body === undefined ? {} : JSON.parse(String(init.body));
    if (operation === 'keys') return reply(200, { latest_version: versions.length });
    if (operation === 'encrypt') {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const plain = Uint8Array.from(atob(body.plaintext), (character) => character.charCodeAt(0));
      const sealed = new Uint8Array(
        await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, versions.at(-1) as CryptoKey, plain),
      );
      const ciphertext = `vault:v${versions.length}:${Buffer.concat([iv, sealed]).toString('base64')}`;
      return reply(200, { ciphertext });
    }
    const [, version, payload] = String(body.ciphertext).split(':');
    const key = versions[Number(version?.slice(1)) - 1];
    const bytes = Buffer.from(payload ?? '', 'base64');
    try {
      const plain = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: bytes.subarray(0, 12) },
        key as CryptoKey,
        bytes.subarray(12),
      );
      return reply(200, { plaintext: Buffer.from(plain).toString('base64') });
    } catch {
      return reply(400);
    }
  };
  return { fetch, rotate, requests };
}

describe('a KMS-shaped key provider (the docs’ Vault transit adapter)', () => {
  it('seals, reads and rotates through the transit API, the key never leaving it', async () => {
    const transit = fakeTransit('s.token');
    await transit.rotate();
    const keys = createTransitKeyProvider({
      url: 'http://vault:8200',
      token: 's.token',
      key: 'steward',
      fetch: transit.fetch,
    });
    const store = createInMemoryVaultStore();
    const vault = createTokenVault({ store, keys });
    const ref = { userId: 'alice', kind: 'mcp_oauth_tokens', name: 'gmail' };
    await vault.put(ref, { access_token: 'secret' });
    expect(await store.get({ owner: 'alice', kind: ref.kind, name: ref.name })).toMatchObject({
      keyId: 'steward:v1',
    });
    expect(transit.requests).toEqual(['POST /v1/transit/encrypt/steward']);

    await transit.rotate(); // `vault write -f transit/keys/steward/rotate`
    expect(await vault.get(ref)).toEqual({ access_token: 'secret' });
    expect(await vault.rotate()).toEqual({ keyId: 'steward:v2', rewrapped: 1, skipped: 0, failed: 0 });
    expect(await store.get({ owner: 'alice', kind: ref.kind, name: ref.name })).toMatchObject({
      keyId: 'steward:v2',
    });
    expect(await vault.get(ref)).toEqual({ access_token: 'secret' });

    const denied = createTokenVault({
      store,
      keys: createTransitKeyProvider({
        url: 'http://vault:8200',
        token: 'wrong',
        key: 'steward',
        fetch: transit.fetch,
      }),
    });
    await expect(denied.get(ref)).rejects.toMatchObject({
      code: 'vault_error',
      details: { reason: 'key_provider_failed', keyId: 'steward:v2' },
    });
  });

  it('is the code docs/storage.md shows', () => {
    const between = (text: string, start: string, end: string) => {
      const from = text.indexOf(start);
      return text.slice(from, text.indexOf(end, from)).trim();
    };
    const docs = readFileSync(new URL('../../../../docs/storage.md', import.meta.url), 'utf8');
    const test = readFileSync(new URL(import.meta.url), 'utf8');
    const shown = between(docs, 'const encrypted = ', '```');
    expect(shown.length).toBeGreaterThan(500);
    expect(between(test, 'const encrypted = ', '// ---- end of the docs ----')).toBe(shown);
  });
});
