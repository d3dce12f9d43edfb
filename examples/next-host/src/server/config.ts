import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { processSingleton } from './singleton.ts';

/** The host's configuration, read from the environment at run time (never inlined by the build). */
export interface HostConfig {
  /** This host's public origin: the issuer of its tokens, the base of its OIDC callback. */
  readonly appUrl: string;
  /** The orchestrator as the browser reaches it (another origin). */
  readonly orchestratorUrl: string;
  /** The orchestrator as this server reaches it (e.g. a service name inside Docker). */
  readonly orchestratorInternalUrl: string;
  readonly oidc: { readonly issuer: string; readonly clientId: string; readonly clientSecret?: string };
  /** Encrypts the session cookie (32+ characters). */
  readonly sessionSecret: string;
  /** `aud` of the tokens the orchestrator accepts (its STEWARD_JWT_AUDIENCE). */
  readonly tokenAudience: string;
  readonly tokenTtlSeconds: number;
  /** An ES256 private JWK (JSON) to sign tokens with; unset: a key made at start. */
  readonly signingKey?: string;
}

const blank = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);
const origin = z
  .string()
  .trim()
  .refine((value) => URL.canParse(value), 'must be a URL')
  .transform((value) => value.replace(/\/+$/, ''));

const envSchema = z.object({
  APP_URL: z.preprocess(blank, origin.default('http://localhost:3100')),
  ORCHESTRATOR_URL: z.preprocess(blank, origin.default('http://localhost:8080')),
  ORCHESTRATOR_INTERNAL_URL: z.preprocess(blank, origin.optional()),
  OIDC_ISSUER: z.preprocess(blank, origin.default('http://localhost:4100')),
  OIDC_CLIENT_ID: z.preprocess(blank, z.string().default('next-host')),
  OIDC_CLIENT_SECRET: z.preprocess(blank, z.string().optional()),
  SESSION_SECRET: z.preprocess(blank, z.string().min(32, 'must be at least 32 characters').optional()),
  STEWARD_TOKEN_AUDIENCE: z.preprocess(blank, z.string().default('steward')),
  STEWARD_TOKEN_TTL_SECONDS: z.preprocess(blank, z.coerce.number().int().min(30).max(3600).default(300)),
  STEWARD_TOKEN_SIGNING_KEY: z.preprocess(blank, z.string().optional()),
});

/** The configuration; a bad environment throws once, naming every variable at fault. */
export function hostConfig(): HostConfig {
  return processSingleton('config', () => {
    const parsed = envSchema.safeParse(process.env);
    if (!parsed.success)
      throw new Error(
        `The Next host is not configured: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
      );
    const env = parsed.data;
    return {
      appUrl: env.APP_URL,
      orchestratorUrl: env.ORCHESTRATOR_URL,
      orchestratorInternalUrl: env.ORCHESTRATOR_INTERNAL_URL ?? env.ORCHESTRATOR_URL,
      oidc: {
        issuer: env.OIDC_ISSUER,
        clientId: env.OIDC_CLIENT_ID,
        ...(env.OIDC_CLIENT_SECRET === undefined ? {} : { clientSecret: env.OIDC_CLIENT_SECRET }),
      },
      // Random per process by default: sessions then end with the process, as in-memory state does.
      sessionSecret: env.SESSION_SECRET ?? randomBytes(32).toString('base64url'),
      tokenAudience: env.STEWARD_TOKEN_AUDIENCE,
      tokenTtlSeconds: env.STEWARD_TOKEN_TTL_SECONDS,
      ...(env.STEWARD_TOKEN_SIGNING_KEY === undefined ? {} : { signingKey: env.STEWARD_TOKEN_SIGNING_KEY }),
    };
  });
}
