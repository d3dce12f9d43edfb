import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { hostConfig } from './config.ts';
import type { SignedInUser } from './session.ts';
import { processSingleton } from './singleton.ts';

interface SigningKey {
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

/** The ES256 key this host signs tokens with; its public half is served at /.well-known/jwks.json. */
function signingKey(): Promise<SigningKey> {
  return processSingleton('signing-key', async () => {
    const configured = hostConfig().signingKey;
    if (configured !== undefined) {
      const jwk = JSON.parse(configured) as JWK;
      const { d: _private, ...publicJwk } = jwk;
      return {
        privateKey: (await importJWK(jwk, 'ES256')) as CryptoKey,
        publicJwk: { ...publicJwk, kid: jwk.kid ?? 'next-host', alg: 'ES256', use: 'sig' },
      };
    }
    // A key per process: the orchestrator fetches the JWKS again when it meets an unknown kid.
    const pair = await generateKeyPair('ES256', { extractable: true });
    const publicJwk = await exportJWK(pair.publicKey);
    return {
      privateKey: pair.privateKey,
      publicJwk: { ...publicJwk, kid: crypto.randomUUID(), alg: 'ES256', use: 'sig' },
    };
  });
}

/** The JWKS the orchestrator verifies this host's tokens with (its STEWARD_JWKS_URL). */
export async function jwks(): Promise<{ keys: JWK[] }> {
  return { keys: [(await signingKey()).publicJwk] };
}

/**
 * A short-lived user token for the orchestrator: `sub` is the signed-in user, `iss` this host,
 * `aud` the orchestrator. The browser holds it for a few minutes and asks for a new one; it can
 * do what the user may do in the Steward API (start runs, read history, approve, stop), nothing
 * with this host.
 */
export async function issueUserToken(user: SignedInUser): Promise<{ token: string; expiresAt: number }> {
  const config = hostConfig();
  const key = await signingKey();
  const expiresAt = Math.floor(Date.now() / 1000) + config.tokenTtlSeconds;
  const token = await new SignJWT({ name: user.name })
    .setProtectedHeader({ alg: 'ES256', kid: key.publicJwk.kid as string, typ: 'JWT' })
    .setSubject(user.userId)
    .setIssuer(config.appUrl)
    .setAudience(config.tokenAudience)
    .setIssuedAt()
    .setExpirationTime(expiresAt)
    .setJti(crypto.randomUUID())
    .sign(key.privateKey);
  return { token, expiresAt };
}
