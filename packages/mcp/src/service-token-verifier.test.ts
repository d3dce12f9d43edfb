import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceTokenError } from './service-token-error.ts';
import { createServiceTokenSigner } from './service-token-signer.ts';
import { createServiceTokenVerifier } from './service-token-verifier.ts';

const secret = 'a shared secret of at least 32 bytes';
const audience = 'https://gmail.internal';

/** A tiny JWKS endpoint whose key set a test can swap, as a signer rotating its keys would. */
let keys: JWK[] = [];
let jwksRequests = 0;
let jwksStatus = 200;
let jwksServer: Server;
let jwksUrl: string;
beforeAll(async () => {
  jwksServer = createServer((_request, response) => {
    jwksRequests++;
    response.writeHead(jwksStatus, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
});
afterAll(() => new Promise<void>((resolve) => jwksServer.close(() => resolve())));

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  if (!ServiceTokenError.isInstance(error)) throw new Error(`expected a ServiceTokenError, got ${error}`);
  return error.reason;
}

describe('createServiceTokenVerifier with a shared secret', () => {
  const verifier = createServiceTokenVerifier({ audience, issuer: 'steward', key: secret });
  const signer = createServiceTokenSigner({ issuer: 'steward', subject: 'svc', key: secret });

  it('returns the claims of a valid token, bare or as a Bearer header', async () => {
    const token = await signer.tokenFor(audience);
    await expect(verifier.verify(token)).resolves.toMatchObject({
      iss: 'steward',
      sub: 'svc',
      aud: audience,
    });
    await expect(verifier.verify(`Bearer ${token}`)).resolves.toMatchObject({ sub: 'svc' });
  });

  it('refuses every bad token with a typed reason', async () => {
    const key = new TextEncoder().encode(secret);
    const now = Math.floor(Date.now() / 1_000);
    const sign = (build: (jwt: SignJWT) => SignJWT, signingKey: Uint8Array = key) =>
      build(
        new SignJWT({})
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer('steward')
          .setSubject('svc')
          .setAudience(audience)
          .setIssuedAt(now)
          .setExpirationTime(now + 60),
      ).sign(signingKey);
    const valid = await signer.tokenFor(audience);
    const [header, payload, signature] = valid.split('.');
    const tampered = `${header}.${Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()), sub: 'admin' }),
    ).toString('base64url')}.${signature}`;
    const cases: [string | undefined, string][] = [
      [undefined, 'missing'],
      ['', 'missing'],
      ['Basic dXNlcjpwYXNz', 'missing'],
      ['not-a-jwt', 'malformed'],
      [await sign((jwt) => jwt.setIssuedAt(now - 120).setExpirationTime(now - 60)), 'expired'],
      [await sign((jwt) => jwt.setNotBefore(now + 600)), 'not_yet_valid'],
      [await sign((jwt) => jwt.setAudience('https://calendar.internal')), 'wrong_audience'],
      [await sign((jwt) => jwt.setIssuer('mallory')), 'wrong_issuer'],
      [
        await sign((jwt) => jwt, new TextEncoder().encode('another secret of at least 32 bytes')),
        'bad_signature',
      ],
      [tampered, 'bad_signature'],
      [
        await new SignJWT({ aud: audience, iss: 'steward' })
          .setProtectedHeader({ alg: 'HS256' })
          .setExpirationTime(now + 60)
          .sign(key),
        'invalid_claims',
      ],
      [`${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`, 'malformed'],
    ];
    for (const [token, reason] of cases) {
      expect(await reasonOf(verifier.verify(token)), `${token} should be ${reason}`).toBe(reason);
    }
    const error = await verifier.verify('not-a-jwt').catch((failure: unknown) => failure);
    expect(error).toMatchObject({
      code: 'invalid_input',
      retryable: false,
      details: { reason: 'malformed' },
    });
  });

  it('refuses tokens older than maxTokenAgeSeconds', async () => {
    const strict = createServiceTokenVerifier({
      audience,
      issuer: 'steward',
      key: secret,
      maxTokenAgeSeconds: 30,
    });
    const now = Math.floor(Date.now() / 1_000);
    const old = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('steward')
      .setSubject('svc')
      .setAudience(audience)
      .setIssuedAt(now - 600)
      .setExpirationTime(now + 600)
      .sign(new TextEncoder().encode(secret));
    expect(await reasonOf(strict.verify(old))).toBe('expired');
  });

  it('refuses bad options with invalid_options', async () => {
    const ec = await generateKeyPair('ES256');
    for (const options of [
      { audience, issuer: 'steward' },
      { audience, issuer: 'steward', key: secret, jwksUrl },
      { audience, issuer: 'steward', key: ec.privateKey },
      { audience: [], issuer: 'steward', key: secret },
      { audience, issuer: 'steward', key: 'short' },
    ]) {
      expect(() => createServiceTokenVerifier(options as never)).toThrow(
        expect.objectContaining({ code: 'invalid_options' }),
      );
    }
  });
});

describe('createServiceTokenVerifier with a public key or a JWKS', () => {
  it('verifies ES256 with the public key, and pins the algorithm', async () => {
    const ec = await generateKeyPair('ES256');
    const signer = createServiceTokenSigner({ issuer: 'steward', key: ec.privateKey });
    const verifier = createServiceTokenVerifier({
      audience,
      issuer: ['steward', 'other'],
      key: ec.publicKey,
    });
    await expect(verifier.verify(await signer.tokenFor(audience))).resolves.toMatchObject({ iss: 'steward' });
    const hmac = createServiceTokenSigner({ issuer: 'steward', key: secret });
    expect(await reasonOf(verifier.verify(await hmac.tokenFor(audience)))).toBe('malformed');
  });

  it('fetches the JWKS, follows a key rotation, and reports an unknown or unreachable key set', async () => {
    const first = await generateKeyPair('ES256', { extractable: true });
    const second = await generateKeyPair('RS256', { extractable: true });
    keys = [{ ...(await exportJWK(first.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }];
    jwksRequests = 0;
    const verifier = createServiceTokenVerifier({ audience, issuer: 'steward', jwksUrl });
    const oldSigner = createServiceTokenSigner({ issuer: 'steward', key: first.privateKey, keyId: 'k1' });
    const newSigner = createServiceTokenSigner({ issuer: 'steward', key: second.privateKey, keyId: 'k2' });

    await expect(verifier.verify(await oldSigner.tokenFor(audience))).resolves.toMatchObject({
      iss: 'steward',
    });
    await expect(verifier.verify(await oldSigner.tokenFor(audience))).resolves.toBeDefined();
    expect(jwksRequests).toBe(1);

    // Rotation: the new key is published, then used. Within the cool-down (30 s) the cached set
    // answers, so a token with an unknown kid is refused without a refetch storm.
    keys = [...keys, { ...(await exportJWK(second.publicKey)), kid: 'k2', alg: 'RS256', use: 'sig' }];
    expect(await reasonOf(verifier.verify(await newSigner.tokenFor(audience)))).toBe('unknown_key');
    expect(jwksRequests).toBe(1);
    const fresh = createServiceTokenVerifier({ audience, issuer: 'steward', jwksUrl });
    await expect(fresh.verify(await newSigner.tokenFor(audience))).resolves.toMatchObject({ iss: 'steward' });
    await expect(fresh.verify(await oldSigner.tokenFor(audience))).resolves.toBeDefined();

    const stranger = await generateKeyPair('ES256');
    const strangerSigner = createServiceTokenSigner({
      issuer: 'steward',
      key: stranger.privateKey,
      keyId: 'k1',
    });
    expect(await reasonOf(fresh.verify(await strangerSigner.tokenFor(audience)))).toBe('bad_signature');

    jwksStatus = 500;
    try {
      const broken = createServiceTokenVerifier({ audience, issuer: 'steward', jwksUrl });
      const error = await broken
        .verify(await oldSigner.tokenFor(audience))
        .catch((failure: unknown) => failure);
      expect(error).toMatchObject({ reason: 'keys_unavailable', code: 'internal_error', retryable: true });
    } finally {
      jwksStatus = 200;
    }
  });

  it('tries each matching key when tokens carry no kid', async () => {
    const first = await generateKeyPair('ES256', { extractable: true });
    const second = await generateKeyPair('ES256', { extractable: true });
    keys = [await exportJWK(first.publicKey), await exportJWK(second.publicKey)];
    const verifier = createServiceTokenVerifier({ audience, issuer: 'steward', jwksUrl });
    for (const pair of [first, second]) {
      const signer = createServiceTokenSigner({ issuer: 'steward', key: pair.privateKey });
      await expect(verifier.verify(await signer.tokenFor(audience))).resolves.toMatchObject({
        iss: 'steward',
      });
    }
    const stranger = createServiceTokenSigner({
      issuer: 'steward',
      key: (await generateKeyPair('ES256')).privateKey,
    });
    expect(await reasonOf(verifier.verify(await stranger.tokenFor(audience)))).toBe('bad_signature');
  });
});
