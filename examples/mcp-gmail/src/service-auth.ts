import { InvalidTokenError, ServerError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import type { RequestHandler } from 'express';
import {
  type CryptoKey,
  createRemoteJWKSet,
  errors,
  type JWK,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify,
  type KeyObject,
} from 'jose';
import { z } from 'zod';

/**
 * How the mock checks the service JWTs Steward sends (`Authorization: Bearer <token>`). Give
 * exactly one of `secret` (HS256), `publicKey` or `jwksUrl` (RS256, ES256).
 */
export interface GmailAuthOptions {
  /** The shared secret, at least 32 bytes. */
  secret?: string;
  /** The signer's public key. */
  publicKey?: CryptoKey | KeyObject | JWK;
  /** Where the signer publishes its public keys; refetched for an unknown `kid`, so keys can rotate. */
  jwksUrl?: string;
  /**
   * The audience tokens must name: this server, as the origin Steward reaches it at
   * (`http://gmail:8931`). Steward mints every registered server's tokens for its URL's origin.
   */
  audience: string;
  /** The accepted signer (`iss`). */
  issuer: string;
}

const optionsSchema = z
  .object({
    secret: z.string().min(32, 'must be at least 32 bytes').optional(),
    publicKey: z
      .custom<CryptoKey | KeyObject | JWK>((value) => typeof value === 'object' && value !== null)
      .optional(),
    jwksUrl: z.url().optional(),
    audience: z.string().min(1),
    issuer: z.string().min(1),
  })
  .strict()
  .refine(
    (options) =>
      [options.secret, options.publicKey, options.jwksUrl].filter((key) => key !== undefined).length === 1,
    { message: 'give exactly one of secret, publicKey and jwksUrl' },
  );

/** Reasons without quotes or token contents: they go into the `WWW-Authenticate` header. */
function refusal(error: unknown): Error {
  if (error instanceof ServerError) return error;
  if (error instanceof errors.JWTExpired) return new InvalidTokenError('the token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return new InvalidTokenError(`the token has no ${error.claim} claim`);
    if (error.claim === 'aud') return new InvalidTokenError('the token is meant for another audience');
    if (error.claim === 'iss') return new InvalidTokenError('the token comes from an unaccepted issuer');
    return new InvalidTokenError(`the token ${error.claim} claim is invalid`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) {
    return new InvalidTokenError('the token signature does not verify');
  }
  if (error instanceof errors.JWKSMultipleMatchingKeys) {
    return new InvalidTokenError('the token names no key (kid) and several keys match');
  }
  return new InvalidTokenError('the token is not a JWT signed with an accepted algorithm');
}

/**
 * Express middleware that lets a request through only with a valid service JWT. Anything else
 * (missing, malformed, expired, another audience or issuer, a bad signature) is answered 401
 * with `WWW-Authenticate: Bearer error="invalid_token", error_description="…"` and a JSON body
 * `{ error, error_description }`, by the MCP SDK's `requireBearerAuth`.
 */
export function requireServiceToken(options: GmailAuthOptions): RequestHandler {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`Gmail mock auth: ${z.prettifyError(parsed.error)}`);
  const config = parsed.data;
  const verifyOptions: JWTVerifyOptions = {
    audience: config.audience,
    issuer: config.issuer,
    // Pinned: a token cannot choose `none`, or HS256 against a public key.
    algorithms: config.secret === undefined ? ['RS256', 'ES256'] : ['HS256'],
    clockTolerance: 5,
    requiredClaims: ['iss', 'sub', 'aud', 'iat', 'exp'],
  };
  const remote = config.jwksUrl === undefined ? undefined : createRemoteJWKSet(new URL(config.jwksUrl));
  const keys: JWTVerifyGetKey | undefined =
    remote === undefined
      ? undefined
      : async (header, token) => {
          try {
            return await remote(header, token);
          } catch (error) {
            if (
              error instanceof errors.JWKSNoMatchingKey ||
              error instanceof errors.JWKSMultipleMatchingKeys
            ) {
              throw error;
            }
            // The key set is down or broken: the server's trouble, not the caller's (500).
            throw new ServerError('the verification keys could not be loaded');
          }
        };
  const verify = (token: string) => {
    if (keys !== undefined) return jwtVerify(token, keys, verifyOptions);
    if (config.secret !== undefined)
      return jwtVerify(token, new TextEncoder().encode(config.secret), verifyOptions);
    return jwtVerify(token, config.publicKey as CryptoKey | KeyObject | JWK, verifyOptions);
  };
  return requireBearerAuth({
    verifier: {
      async verifyAccessToken(token) {
        try {
          const { payload } = await verify(token);
          return {
            token,
            clientId: payload.sub ?? '',
            scopes: [],
            ...(payload.exp === undefined ? {} : { expiresAt: payload.exp }),
            extra: { issuer: payload.iss, tokenId: payload.jti },
          };
        } catch (error) {
          throw refusal(error);
        }
      },
    },
  });
}

/** {@link GmailAuthOptions} for `startGmailServer`, where the audience defaults to the server's origin. */
export type GmailServerAuthOptions = Omit<GmailAuthOptions, 'audience'> & { audience?: string };

/**
 * Reads the mock's auth from the environment: `GMAIL_MCP_JWT_SECRET` (HS256) or
 * `GMAIL_MCP_JWKS_URL`, with `GMAIL_MCP_JWT_ISSUER` (default `steward`) and
 * `GMAIL_MCP_JWT_AUDIENCE` (default: the server's origin). Neither key set: the mock stays open,
 * which is for local development only.
 */
export function authFromEnvironment(environment: NodeJS.ProcessEnv): GmailServerAuthOptions | undefined {
  const secret = environment.GMAIL_MCP_JWT_SECRET;
  const jwksUrl = environment.GMAIL_MCP_JWKS_URL;
  if (!secret && !jwksUrl) return undefined;
  return {
    ...(secret ? { secret } : {}),
    ...(jwksUrl ? { jwksUrl } : {}),
    ...(environment.GMAIL_MCP_JWT_AUDIENCE ? { audience: environment.GMAIL_MCP_JWT_AUDIENCE } : {}),
    issuer: environment.GMAIL_MCP_JWT_ISSUER || 'steward',
  };
}
