import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createServiceTokenSigner } from './service-token-signer.ts';

const secret = 'a shared secret of at least 32 bytes';

afterEach(() => {
  vi.useRealTimers();
});

describe('createServiceTokenSigner', () => {
  it('signs HS256 tokens with iss, sub, aud, iat, exp and jti', async () => {
    const signer = createServiceTokenSigner({ issuer: 'steward', subject: 'svc-orchestrator', key: secret });
    const token = await signer.tokenFor('https://gmail.internal');
    const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(secret), {
      audience: 'https://gmail.internal',
      issuer: 'steward',
    });
    expect(protectedHeader).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toEqual({
      iss: 'steward',
      sub: 'svc-orchestrator',
      aud: 'https://gmail.internal',
      iat: expect.any(Number),
      exp: (payload.iat ?? 0) + 60,
      jti: expect.any(String),
    });
  });

  it('signs ES256 with a private CryptoKey and RS256 with a private JWK, kid included', async () => {
    const ec = await generateKeyPair('ES256');
    const es = createServiceTokenSigner({ issuer: 'steward', key: ec.privateKey, keyId: 'ec-1' });
    const esToken = await es.tokenFor('gmail');
    expect(decodeProtectedHeader(esToken)).toMatchObject({ alg: 'ES256', kid: 'ec-1' });
    await expect(jwtVerify(esToken, ec.publicKey, { audience: 'gmail' })).resolves.toBeDefined();

    const rsa = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(rsa.privateKey)), kid: 'rsa-2024' };
    const rs = createServiceTokenSigner({ issuer: 'steward', key: jwk });
    const rsToken = await rs.tokenFor('gmail');
    expect(decodeProtectedHeader(rsToken)).toMatchObject({ alg: 'RS256', kid: 'rsa-2024' });
    await expect(jwtVerify(rsToken, rsa.publicKey, { audience: 'gmail' })).resolves.toBeDefined();
  });

  it('reuses a token per audience, and signs a new one when a quarter of its life remains', async () => {
    vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z'), toFake: ['Date'] });
    const signer = createServiceTokenSigner({ issuer: 'steward', key: secret, ttlSeconds: 60 });
    const [first, again] = await Promise.all([signer.tokenFor('a'), signer.tokenFor('a')]);
    expect(again).toBe(first);
    const other = await signer.tokenFor('b');
    expect(other).not.toBe(first);
    expect(decodeJwt(other).aud).toBe('b');

    vi.setSystemTime(new Date('2026-01-01T00:00:44Z'));
    expect(await signer.tokenFor('a')).toBe(first);
    vi.setSystemTime(new Date('2026-01-01T00:00:45Z'));
    const renewed = await signer.tokenFor('a');
    expect(renewed).not.toBe(first);
    expect(decodeJwt(renewed)).toMatchObject({ iat: (decodeJwt(first).iat ?? 0) + 45 });
    expect(decodeJwt(renewed).jti).not.toBe(decodeJwt(first).jti);
    expect(await signer.tokenFor('a')).toBe(renewed);
  });

  it('refuses bad options with a typed invalid_options error', async () => {
    const ec = await generateKeyPair('ES256');
    const cases: [unknown, RegExp][] = [
      [{ issuer: 'steward', key: 'too short' }, /key: a shared secret needs at least 32 bytes/],
      [{ issuer: '', key: secret }, /issuer/],
      [{ issuer: 'steward', key: ec.publicKey }, /key: is a public key/],
      [{ issuer: 'steward', key: secret, algorithm: 'ES256' }, /algorithm: ES256 does not suit this key/],
      [{ issuer: 'steward', key: ec.privateKey, algorithm: 'RS256' }, /RS256 does not suit this key/],
      [{ issuer: 'steward', key: secret, ttlSeconds: 86_400 }, /ttlSeconds/],
      [{ issuer: 'steward', key: 42 }, /key: must be a secret/],
      [{ issuer: 'steward', key: secret, audience: 'x' }, /audience/],
    ];
    for (const [options, message] of cases) {
      expect(() => createServiceTokenSigner(options as never)).toThrow(
        expect.objectContaining({ code: 'invalid_options', message: expect.stringMatching(message) }),
      );
    }
    const signer = createServiceTokenSigner({ issuer: 'steward', key: secret });
    await expect(signer.tokenFor('')).rejects.toMatchObject({ code: 'invalid_input' });
  });
});
