import { parseOptions, StewardError } from '@steward/core';
import { type KeyInput, SignJWT } from 'jose';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import {
  algorithmFor,
  describeKey,
  type ServiceTokenAlgorithm,
  type ServiceTokenKey,
} from './service-token-key.ts';

/** Options of {@link createServiceTokenSigner}. */
export interface ServiceTokenSignerOptions {
  /** The `iss` claim: who signs, e.g. `steward-orchestrator`. Servers check it. */
  issuer: string;
  /** The `sub` claim: the service account the calls run as. Default: `issuer`. */
  subject?: string;
  /** A shared secret (HS256, at least 32 bytes) or a private RSA or P-256 key (RS256, ES256). */
  key: ServiceTokenKey;
  /** Default: HS256 for a secret, else the key's own (RS256 for RSA, ES256 for P-256). */
  algorithm?: ServiceTokenAlgorithm;
  /** How long a token is valid: 5 to 3,600 seconds. Default 60. */
  ttlSeconds?: number;
  /** The `kid` header, so a server can pick the key from its JWKS. Default: the JWK's `kid`, if any. */
  keyId?: string;
}

/** Signs short-lived service tokens, one per audience, for calls from Steward to MCP servers. */
export interface ServiceTokenSigner {
  /** The `iss` of every token. */
  readonly issuer: string;
  /**
   * A token for `audience`, valid for `ttlSeconds`. The same token is handed out until a quarter
   * of its life remains, then a new one is signed, so a busy registry does not sign per call.
   */
  tokenFor(audience: string): Promise<string>;
}

const optionsSchema = z
  .object({
    issuer: z.string().min(1),
    subject: z.string().min(1).optional(),
    key: z.unknown(),
    algorithm: z.enum(['HS256', 'RS256', 'ES256']).optional(),
    ttlSeconds: z.number().int().min(5).max(3_600).default(60),
    keyId: z.string().min(1).optional(),
  })
  .strict()
  .transform((options, context) => {
    const facts = describeKey(options.key);
    if (typeof facts === 'string' || facts.kind === 'public') {
      context.addIssue({
        code: 'custom',
        path: ['key'],
        message: typeof facts === 'string' ? facts : 'is a public key; signing needs the private key',
      });
      return z.NEVER;
    }
    const algorithm = algorithmFor(facts, options.algorithm);
    if (algorithm !== 'HS256' && facts.kind === 'secret') {
      context.addIssue({ code: 'custom', path: ['algorithm'], message: `${algorithm} needs a private key` });
      return z.NEVER;
    }
    if (!['HS256', 'RS256', 'ES256'].includes(algorithm)) {
      context.addIssue({ code: 'custom', path: ['algorithm'], message: algorithm });
      return z.NEVER;
    }
    const keyId = options.keyId ?? facts.keyId;
    return {
      ...options,
      key: options.key as KeyInput | string,
      algorithm: algorithm as ServiceTokenAlgorithm,
      ...(keyId === undefined ? {} : { keyId }),
    };
  });

interface CachedToken {
  readonly token: Promise<string>;
  /** Epoch milliseconds after which a new token is signed. */
  readonly renewAt: number;
}

/**
 * Creates a signer of service JWTs (`iss`, `sub`, `aud`, `iat`, `exp`, `jti`) for Steward's calls
 * to MCP servers, as the architecture's service-to-service section asks. Give it to
 * `createMcpRegistry({ serviceAuth: { signer } })` or `createHttpToolProvider({ serviceAuth })`.
 *
 * @example
 * ```ts
 * const signer = createServiceTokenSigner({ issuer: 'steward', key: process.env.MCP_JWT_SECRET });
 * const registry = createMcpRegistry({ serviceAuth: { signer } });
 * ```
 */
export function createServiceTokenSigner(options: ServiceTokenSignerOptions): ServiceTokenSigner {
  const config = parseOptions(optionsSchema, options, 'createServiceTokenSigner');
  const key = typeof config.key === 'string' ? new TextEncoder().encode(config.key) : config.key;
  const subject = config.subject ?? config.issuer;
  const tokens = new LRUCache<string, CachedToken>({ max: 1_000 });

  const sign = (audience: string, issuedAt: number) =>
    new SignJWT({})
      .setProtectedHeader({
        alg: config.algorithm,
        typ: 'JWT',
        ...(config.keyId === undefined ? {} : { kid: config.keyId }),
      })
      .setIssuer(config.issuer)
      .setSubject(subject)
      .setAudience(audience)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + config.ttlSeconds)
      .setJti(crypto.randomUUID())
      .sign(key);

  return {
    issuer: config.issuer,
    tokenFor(audience) {
      if (typeof audience !== 'string' || audience.length === 0) {
        return Promise.reject(
          new StewardError('invalid_input', 'tokenFor: the audience must be a non-empty string'),
        );
      }
      const now = Date.now();
      const cached = tokens.get(audience);
      if (cached !== undefined && now < cached.renewAt) return cached.token;
      const issuedAt = Math.floor(now / 1_000);
      const entry: CachedToken = {
        token: sign(audience, issuedAt),
        renewAt: issuedAt * 1_000 + config.ttlSeconds * 750,
      };
      tokens.set(audience, entry);
      // A failed signing is not kept: the next call tries again.
      entry.token.catch(() => {
        if (tokens.get(audience) === entry) tokens.delete(audience);
      });
      return entry.token;
    },
  };
}
