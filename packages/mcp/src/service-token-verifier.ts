import { parseOptions } from '@steward/core';
import {
  createRemoteJWKSet,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify,
  type KeyInput,
} from 'jose';
import { z } from 'zod';
import { ServiceTokenError } from './service-token-error.ts';
import {
  algorithmFor,
  describeKey,
  type ServiceTokenAlgorithm,
  type ServiceTokenKey,
} from './service-token-key.ts';

/** Options of {@link createServiceTokenVerifier}. Give exactly one of `key` and `jwksUrl`. */
export interface ServiceTokenVerifierOptions {
  /** This server's name in tokens (`aud`); a token must name one of them. */
  audience: string | readonly string[];
  /** Accepted signers (`iss`). */
  issuer: string | readonly string[];
  /** The shared secret (HS256) or the signer's public key (RS256, ES256). */
  key?: ServiceTokenKey;
  /** Where the signer publishes its public keys. Fetched lazily, cached, and fetched again for an unknown `kid`. */
  jwksUrl?: string | URL;
  /** Accepted algorithms. Default: the key's own; RS256 and ES256 with `jwksUrl`. */
  algorithms?: readonly ServiceTokenAlgorithm[];
  /** Allowed clock skew between signer and server. Default 5 seconds. */
  clockToleranceSeconds?: number;
  /** Refuse tokens issued longer ago than this, whatever their `exp`. Default: no limit. */
  maxTokenAgeSeconds?: number;
}

/** The claims of a verified service token. */
export interface ServiceTokenClaims extends JWTPayload {
  readonly iss: string;
  /** The service account the caller runs as. */
  readonly sub: string;
  readonly aud: string | string[];
  readonly iat: number;
  readonly exp: number;
}

/** Checks service tokens; framework-free, for MCP server authors. */
export interface ServiceTokenVerifier {
  /**
   * Resolves with the claims of a valid token, or rejects with a {@link ServiceTokenError}. Takes
   * the token or a whole `Authorization` header value (`Bearer <token>`); `undefined` is `missing`.
   */
  verify(credentials: string | undefined): Promise<ServiceTokenClaims>;
}

const names = z.union([z.string().min(1), z.array(z.string().min(1)).min(1).readonly()]);

const optionsSchema = z
  .object({
    audience: names,
    issuer: names,
    key: z.unknown().optional(),
    jwksUrl: z.union([z.url(), z.instanceof(URL)]).optional(),
    algorithms: z
      .array(z.enum(['HS256', 'RS256', 'ES256']))
      .min(1)
      .readonly()
      .optional(),
    clockToleranceSeconds: z.number().int().min(0).max(300).default(5),
    maxTokenAgeSeconds: z.number().int().positive().optional(),
  })
  .strict()
  .superRefine((options, context) => {
    if ((options.key === undefined) === (options.jwksUrl === undefined)) {
      context.addIssue({ code: 'custom', path: ['key'], message: 'give exactly one of key and jwksUrl' });
      return;
    }
    if (options.key === undefined) return;
    const facts = describeKey(options.key);
    if (typeof facts === 'string' || facts.kind === 'private') {
      context.addIssue({
        code: 'custom',
        path: ['key'],
        message: typeof facts === 'string' ? facts : 'is a private key; give the public key',
      });
    }
  });

const messages: Record<ServiceTokenError['reason'], string> = {
  missing: 'no bearer token was sent',
  malformed: 'the token is not a JWT signed with an accepted algorithm',
  expired: 'the token has expired',
  not_yet_valid: 'the token is not valid yet',
  wrong_audience: 'the token is meant for another audience',
  wrong_issuer: 'the token comes from an unaccepted issuer',
  bad_signature: 'the token signature does not verify',
  unknown_key: 'no known key matches the token',
  invalid_claims: 'the token lacks a required claim',
  keys_unavailable: 'the verification keys could not be loaded',
};

const refuse = (reason: ServiceTokenError['reason'], cause?: unknown) =>
  new ServiceTokenError(reason, messages[reason], cause === undefined ? {} : { cause });

/** Maps what jose throws to a reason; anything unexpected refuses the token too (fail closed). */
function toServiceTokenError(error: unknown): ServiceTokenError {
  if (ServiceTokenError.isInstance(error)) return error;
  if (error instanceof errors.JWTExpired) return refuse('expired', error);
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return refuse('invalid_claims', error);
    if (error.claim === 'aud') return refuse('wrong_audience', error);
    if (error.claim === 'iss') return refuse('wrong_issuer', error);
    if (error.claim === 'nbf') return refuse('not_yet_valid', error);
    // `iat` fails its check when the token is older than maxTokenAge, or issued in the future.
    if (error.claim === 'iat' && error.reason === 'check_failed') {
      const issuedAt = error.payload.iat;
      return refuse(
        typeof issuedAt === 'number' && issuedAt * 1_000 > Date.now() ? 'not_yet_valid' : 'expired',
        error,
      );
    }
    return refuse('invalid_claims', error);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return refuse('bad_signature', error);
  if (error instanceof errors.JWKSNoMatchingKey) return refuse('unknown_key', error);
  return refuse('malformed', error);
}

/**
 * Creates a verifier of the service tokens Steward's `createServiceTokenSigner` issues (or any JWT
 * with `iss`, `sub`, `aud`, `iat` and `exp`), for MCP servers to check who calls them. Algorithms
 * are pinned, so a token cannot pick a weaker one (`none`, or HS256 against a public key).
 *
 * @example
 * ```ts
 * const verifier = createServiceTokenVerifier({
 *   audience: 'https://gmail-mcp.internal',
 *   issuer: 'steward',
 *   jwksUrl: 'https://steward.internal/.well-known/jwks.json',
 * });
 * const claims = await verifier.verify(request.headers.authorization); // throws ServiceTokenError
 * ```
 */
export function createServiceTokenVerifier(options: ServiceTokenVerifierOptions): ServiceTokenVerifier {
  const config = parseOptions(optionsSchema, options, 'createServiceTokenVerifier');
  let key: KeyInput | JWTVerifyGetKey;
  let algorithms: readonly ServiceTokenAlgorithm[];
  if (config.jwksUrl !== undefined) {
    const remote = createRemoteJWKSet(new URL(config.jwksUrl));
    key = async (header, token) => {
      try {
        return await remote(header, token);
      } catch (error) {
        // Only a lookup that found no key, or several, is about the token; the rest is ours.
        if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
          throw error;
        }
        throw refuse('keys_unavailable', error);
      }
    };
    algorithms = config.algorithms ?? ['RS256', 'ES256'];
  } else {
    const facts = describeKey(config.key);
    const own = typeof facts === 'string' ? undefined : algorithmFor(facts, undefined);
    key = typeof config.key === 'string' ? new TextEncoder().encode(config.key) : (config.key as KeyInput);
    algorithms =
      config.algorithms ??
      (own === 'HS256' || own === 'RS256' || own === 'ES256' ? [own] : ['RS256', 'ES256']);
  }
  const verifyOptions: JWTVerifyOptions = {
    audience: typeof config.audience === 'string' ? config.audience : [...config.audience],
    issuer: typeof config.issuer === 'string' ? config.issuer : [...config.issuer],
    algorithms: [...algorithms],
    clockTolerance: config.clockToleranceSeconds,
    requiredClaims: ['iss', 'sub', 'aud', 'iat', 'exp'],
    ...(config.maxTokenAgeSeconds === undefined ? {} : { maxTokenAge: config.maxTokenAgeSeconds }),
  };

  async function verifyWithEachKey(token: string, error: errors.JWKSMultipleMatchingKeys) {
    // A JWKS mid-rotation may hold several keys a token without `kid` could match: try each.
    for await (const candidate of error) {
      try {
        return await jwtVerify(token, candidate, verifyOptions);
      } catch (failure) {
        if (!(failure instanceof errors.JWSSignatureVerificationFailed)) throw failure;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }

  return {
    async verify(credentials) {
      const token = credentials?.replace(/^bearer\s+/i, '').trim();
      if (token === undefined || token === '' || /\s/.test(token)) throw refuse('missing');
      try {
        try {
          const { payload } = await jwtVerify(token, key as KeyInput, verifyOptions);
          return payload as ServiceTokenClaims;
        } catch (error) {
          if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
          return (await verifyWithEachKey(token, error)).payload as ServiceTokenClaims;
        }
      } catch (error) {
        throw toServiceTokenError(error);
      }
    },
  };
}
