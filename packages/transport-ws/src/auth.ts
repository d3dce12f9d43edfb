import { parseOptions, safeIdSchema } from '@steward/core';
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  SignJWT,
} from 'jose';
import { z } from 'zod';
import { HttpError } from './http-error.ts';

/** Who a request acts for, as its token says. */
export interface Principal {
  /** The token's `sub`: every read and write is scoped to this user. */
  readonly userId: string;
  /** The token's `roles` claim; `admin` may register tools. */
  readonly roles: readonly string[];
  /** Set for a run token: the one run it may read and decide approvals for, nothing else. */
  readonly runId?: string;
}

/** Verifies bearer tokens and issues run-scoped ones. */
export interface Authenticator {
  /** The principal of a bearer token; rejects with a 401 {@link HttpError} for any bad token. */
  authenticate(token: string): Promise<Principal>;
  /**
   * A short-lived token for one run (claim `run_id`), for a browser that opens the WebSocket
   * directly: it can read that run and approve or deny its calls, and nothing else.
   */
  issueRunToken(options: { userId: string; runId: string; ttlSeconds?: number }): Promise<string>;
}

/** Options of {@link createJwtAuth}. Give `secret`, `jwksUrl`, or both. */
export interface JwtAuthOptions {
  /** HS256 shared secret, at least 32 bytes. Default: `process.env.STEWARD_JWT_SECRET`. */
  secret?: string | Uint8Array;
  /** Verify RS256/ES256 user tokens against this JWKS (an OIDC provider's `jwks_uri`). */
  jwksUrl?: string | URL;
  /** Required `iss` of user tokens, when set. */
  issuer?: string;
  /** Required `aud` of user tokens, when set. */
  audience?: string | string[];
  /** Signs run tokens. Default: `secret`; required when only `jwksUrl` is given. */
  runTokenSecret?: string | Uint8Array;
  /** Default lifetime of run tokens. Default 300 s. */
  runTokenTtlSeconds?: number;
  /** Clock skew tolerated on `exp`/`nbf`. Default 5 s. */
  clockToleranceSeconds?: number;
}

const secretSchema = z.union([
  z.string().min(32, 'must be at least 32 characters (256 bits) for HS256'),
  z.instanceof(Uint8Array).refine((bytes) => bytes.byteLength >= 32, 'must be at least 32 bytes for HS256'),
]);

const optionsSchema = z
  .object({
    secret: secretSchema.optional(),
    jwksUrl: z.union([z.url(), z.instanceof(URL)]).optional(),
    issuer: z.string().min(1).optional(),
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    runTokenSecret: secretSchema.optional(),
    runTokenTtlSeconds: z.number().int().positive().max(86_400).default(300),
    clockToleranceSeconds: z.number().int().nonnegative().max(300).default(5),
  })
  .strict()
  .refine((options) => options.secret !== undefined || options.jwksUrl !== undefined, {
    message: 'needs a secret (or STEWARD_JWT_SECRET) or a jwksUrl',
  })
  .refine((options) => options.secret !== undefined || options.runTokenSecret !== undefined, {
    message: 'needs runTokenSecret to issue run tokens when only jwksUrl is given',
  });

/** A user or run id in a token: core's id rule (no control, space or invisible character). */
const tokenIdSchema = safeIdSchema.min(1).max(256);

const runTokenRequestSchema = z
  .object({
    userId: tokenIdSchema,
    runId: tokenIdSchema,
    ttlSeconds: z.number().int().positive().max(86_400).optional(),
  })
  .strict();

/** The audience of run tokens: no user-token verifier elsewhere should accept one. */
const runAudience = 'steward:run';
const runIssuer = 'steward';

const keyOf = (secret: string | Uint8Array) =>
  typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;

/**
 * Bearer-token auth with `jose`: user tokens signed HS256 with a shared secret or RS256/ES256
 * by an OIDC provider (verified against its JWKS); `sub` is the user, `roles` may hold `admin`.
 * Issues and verifies run tokens (the seed's pattern B).
 *
 * @example
 * ```ts
 * const auth = createJwtAuth({ secret: process.env.STEWARD_JWT_SECRET });
 * const token = await auth.issueRunToken({ userId: 'ann', runId });
 * ```
 */
export function createJwtAuth(options: JwtAuthOptions = {}): Authenticator {
  const envSecret = process.env.STEWARD_JWT_SECRET;
  const config = parseOptions(
    optionsSchema,
    options.secret === undefined && options.jwksUrl === undefined && envSecret !== undefined
      ? { ...options, secret: envSecret }
      : options,
    'createJwtAuth',
  );
  const secretKey = config.secret === undefined ? undefined : keyOf(config.secret);
  const runKey = keyOf((config.runTokenSecret ?? config.secret) as string | Uint8Array);
  const jwks: JWTVerifyGetKey | undefined =
    config.jwksUrl === undefined ? undefined : createRemoteJWKSet(new URL(config.jwksUrl));
  const tolerance = config.clockToleranceSeconds;

  async function verifyUser(token: string, alg: string | undefined): Promise<JWTPayload> {
    const common = {
      clockTolerance: tolerance,
      ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
      ...(config.audience === undefined ? {} : { audience: config.audience }),
    };
    if (alg === 'HS256') {
      if (secretKey === undefined) throw unauthorized('HS256 tokens are not accepted here');
      return (await jwtVerify(token, secretKey, { ...common, algorithms: ['HS256'] })).payload;
    }
    if (jwks === undefined) throw unauthorized(`${alg ?? 'unsigned'} tokens are not accepted here`);
    return (await jwtVerify(token, jwks, { ...common, algorithms: ['RS256', 'ES256'] })).payload;
  }

  return {
    async authenticate(token) {
      let payload: JWTPayload;
      try {
        const { alg } = decodeProtectedHeader(token);
        const claimed = decodeJwt(token);
        const audiences = Array.isArray(claimed.aud) ? claimed.aud : [claimed.aud];
        payload = audiences.includes(runAudience)
          ? (
              await jwtVerify(token, runKey, {
                algorithms: ['HS256'],
                audience: runAudience,
                issuer: runIssuer,
                clockTolerance: tolerance,
              })
            ).payload
          : await verifyUser(token, alg);
      } catch (error) {
        if (error instanceof HttpError) throw error;
        throw unauthorized(error instanceof Error ? error.message : 'invalid token');
      }
      // Every read and write is keyed by sub: it must be an id a database can hold as it is.
      const userId = tokenIdSchema.safeParse(payload.sub);
      if (!userId.success) throw unauthorized('the token has no usable sub');
      const isRunToken =
        payload.aud === runAudience || (Array.isArray(payload.aud) && payload.aud.includes(runAudience));
      const claimedRun = payload.run_id;
      // A run token without its run would otherwise pass for a user token.
      if (isRunToken && !tokenIdSchema.safeParse(claimedRun).success)
        throw unauthorized('a run token needs run_id');
      const runId = isRunToken ? (claimedRun as string) : undefined;
      const roles = payload.roles;
      return {
        userId: userId.data,
        // Run tokens never carry roles: they read and approve, nothing more.
        roles:
          runId !== undefined
            ? []
            : Array.isArray(roles)
              ? roles.filter((role) => typeof role === 'string')
              : typeof roles === 'string'
                ? roles.split(' ')
                : [],
        ...(runId === undefined ? {} : { runId }),
      };
    },
    async issueRunToken(request) {
      const { userId, runId, ttlSeconds } = parseOptions(
        runTokenRequestSchema,
        request,
        'issueRunToken',
        'invalid_input',
      );
      const ttl = ttlSeconds ?? config.runTokenTtlSeconds;
      return new SignJWT({ run_id: runId, scope: 'run:read run:approve' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        .setAudience(runAudience)
        .setIssuer(runIssuer)
        .setIssuedAt()
        .setJti(crypto.randomUUID())
        .setExpirationTime(`${ttl}s`)
        .sign(runKey);
    },
  };
}

function unauthorized(reason: string): HttpError {
  return new HttpError(401, 'unauthorized', `Invalid bearer token: ${reason}`);
}

/** The token of an `Authorization: Bearer …` header, if there is one. */
export function bearerToken(header: string | null | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
