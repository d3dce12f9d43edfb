import type { CryptoKey, JWK, KeyObject } from 'jose';

/** The algorithms service tokens are signed and verified with. */
export type ServiceTokenAlgorithm = 'HS256' | 'RS256' | 'ES256';

/**
 * A key for service tokens: a shared secret (a string or bytes, at least 32 bytes, for HS256), or
 * an RSA or P-256 key as a Web Crypto `CryptoKey`, a Node `KeyObject` or a JWK.
 */
export type ServiceTokenKey = string | Uint8Array | CryptoKey | KeyObject | JWK;

/** @internal What a key is, as far as choosing and checking an algorithm goes. */
export interface KeyFacts {
  readonly kind: 'secret' | 'private' | 'public';
  readonly algorithm: ServiceTokenAlgorithm | undefined;
  /** The JWK's `kid`, used as the token's key id when none is given. */
  readonly keyId: string | undefined;
}

const byFamily: Record<string, ServiceTokenAlgorithm> = {
  oct: 'HS256',
  hmac: 'HS256',
  ec: 'ES256',
  ecdsa: 'ES256',
  rsa: 'RS256',
  'rsassa-pkcs1-v1_5': 'RS256',
};

const minimumSecretBytes = 32;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * @internal Classifies a key, or says what is wrong with it. Shared secrets shorter than 256 bits
 * are refused: RFC 7518 asks HS256 keys to be at least as long as the hash.
 */
export function describeKey(key: unknown): KeyFacts | string {
  if (typeof key === 'string' || key instanceof Uint8Array) {
    const bytes = typeof key === 'string' ? new TextEncoder().encode(key).length : key.length;
    if (bytes < minimumSecretBytes) return `a shared secret needs at least ${minimumSecretBytes} bytes`;
    return { kind: 'secret', algorithm: 'HS256', keyId: undefined };
  }
  if (!isRecord(key)) return 'must be a secret, a CryptoKey, a KeyObject or a JWK';
  if (typeof key.kty === 'string') {
    const kind = key.kty === 'oct' ? 'secret' : key.d === undefined ? 'public' : 'private';
    return {
      kind,
      algorithm: byFamily[key.kty.toLowerCase()],
      keyId: typeof key.kid === 'string' ? key.kid : undefined,
    };
  }
  const kind = key.type;
  if (kind !== 'secret' && kind !== 'private' && kind !== 'public') {
    return 'must be a secret, a CryptoKey, a KeyObject or a JWK';
  }
  // A CryptoKey names its algorithm; a KeyObject its asymmetric key type.
  const family = isRecord(key.algorithm) ? key.algorithm.name : key.asymmetricKeyType;
  const algorithm =
    kind === 'secret' ? 'HS256' : typeof family === 'string' ? byFamily[family.toLowerCase()] : undefined;
  return { kind, algorithm, keyId: undefined };
}

/**
 * @internal The one algorithm a key signs or verifies with: the one asked for, which must suit
 * the key, or the key's own. Returns a message when there is none.
 */
export function algorithmFor(
  facts: KeyFacts,
  requested: ServiceTokenAlgorithm | undefined,
): ServiceTokenAlgorithm | string {
  if (requested !== undefined && facts.algorithm !== undefined && requested !== facts.algorithm) {
    return `${requested} does not suit this key (it signs ${facts.algorithm})`;
  }
  const algorithm = requested ?? facts.algorithm;
  return algorithm ?? 'cannot tell the key’s algorithm: set `algorithm`';
}
