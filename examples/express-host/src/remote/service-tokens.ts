import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { z } from 'zod';

/** How the host proves the signed-in user to a remote orchestrator. */
export interface ServiceTokenOptions {
  /**
   * The HS256 key the orchestrator verifies user tokens with (its `STEWARD_JWT_SECRET`), 32+
   * characters. Only this server holds it: the browser never sees a token signed with it.
   */
  secret: string;
  /** `iss` of the tokens, for an orchestrator that requires one (`STEWARD_JWT_ISSUER`). */
  issuer?: string;
  /** `aud` of the tokens, for an orchestrator that requires one (`STEWARD_JWT_AUDIENCE`). */
  audience?: string;
  /** How long a token lives. Default 60 s: each is minted for one request or one (re)connect. */
  ttlSeconds?: number;
}

/** Mints a short-lived token that carries the user (`sub`) and their roles. */
export type ServiceTokenMinter = (userId: string, roles?: readonly string[]) => Promise<string>;

const optionsSchema = z
  .object({
    secret: z.string().min(32, 'must be at least 32 characters (256 bits) for HS256'),
    issuer: z.string().min(1).optional(),
    audience: z.string().min(1).optional(),
    ttlSeconds: z.number().int().positive().max(3_600).default(60),
  })
  .strict();

/**
 * The host's service tokens for the orchestrator (pattern A): the host has signed the user in,
 * so it vouches for them, server to server, with a JWT the orchestrator's `createJwtAuth`
 * accepts as a user token. Minted per request, so one that leaks is worth a minute at most.
 */
export function createServiceTokenMinter(options: ServiceTokenOptions): ServiceTokenMinter {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success)
    throw new Error(`Invalid orchestrator token options: ${z.prettifyError(parsed.error)}`);
  const config = parsed.data;
  const key = new TextEncoder().encode(config.secret);
  return (userId, roles = []) => {
    let token = new SignJWT(roles.length === 0 ? {} : { roles: [...roles] })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(`${config.ttlSeconds}s`);
    if (config.issuer !== undefined) token = token.setIssuer(config.issuer);
    if (config.audience !== undefined) token = token.setAudience(config.audience);
    return token.sign(key);
  };
}
