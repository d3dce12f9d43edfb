import type { McpServerConfig } from '@steward/mcp';
import { z } from 'zod';
import {
  allowedNetworksSchema,
  allowedOriginsSchema,
  asServerConfigs,
  mcpServersSchema,
  wantsServiceAuth,
  wantsUserOAuth,
} from './mcp-servers.ts';

/** Everything the service needs, read from the environment by {@link loadConfig}. */
export interface OrchestratorConfig {
  readonly port: number;
  readonly host: string;
  readonly database: { readonly url: string; readonly schema: string; readonly migrate: boolean };
  readonly redis: { readonly url: string; readonly prefix: string };
  readonly auth: {
    readonly secret?: string;
    readonly jwksUrl?: string;
    readonly issuer?: string;
    readonly audience?: string[];
    readonly runTokenSecret?: string;
  };
  readonly model: {
    readonly apiKey: string;
    readonly baseURL?: string;
    readonly model: string;
    readonly api: 'chat' | 'responses';
    readonly system?: string;
  };
  readonly mcp: {
    readonly servers: readonly McpServerConfig[];
    readonly serviceAuth?: { readonly secret: string; readonly issuer: string };
    readonly syncIntervalMs: number;
    /** What `POST /api/v1/tools/register` and stored registrations may reach. */
    readonly registrations: {
      readonly allowedOrigins: readonly string[];
      readonly allowedNetworks: readonly string[];
    };
  };
  /** Runs a user may start per window (429 past it); `false` when turned off. */
  readonly rateLimit: { readonly runs: number; readonly windowMs: number } | false;
  /** Runs a user may have active at once (429 past it); `false` when turned off. */
  readonly maxActiveRuns: number | false;
  /**
   * Users connect their own accounts on OAuth-protected MCP servers: tokens in the Postgres vault
   * (encrypted under `vaultKeys`), the authorization server sends the browser to `redirectUrl`
   * (this service's `/api/v1/oauth/callback`), which hands it to the host's `completionUrl`.
   */
  readonly oauth?: {
    readonly redirectUrl: string;
    readonly completionUrl: string;
    readonly vaultKeys: string;
  };
  /** Browser origins whose pages may call the API and open `/ws` (CORS, `Origin` checked); unset: no CORS. */
  readonly corsOrigins?: readonly string[];
  readonly drainTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly recoveryIntervalMs: number;
  /** Put prompts, completions and tool arguments and results on spans (off: they may hold personal data). */
  readonly traceContent: boolean;
  /** Prices per model over core's defaults (USD per million tokens): usage then carries `cost_usd`. */
  readonly prices: Readonly<
    Record<
      string,
      { inputPerMillion: number; cachedInputPerMillion?: number | undefined; outputPerMillion: number }
    >
  >;
  /** Token budgets per user (input plus output, UTC day and month), held across replicas in Redis; undefined when off. */
  readonly tokenBudget?: {
    readonly perDay?: number;
    readonly perMonth?: number;
    readonly overrides: Readonly<
      Record<string, { readonly perDay?: number | undefined; readonly perMonth?: number | undefined }>
    >;
  };
}

/** What {@link loadConfig} found: a complete configuration, or every problem with it. */
export type ConfigResult =
  | { readonly ok: true; readonly config: OrchestratorConfig; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly problems: readonly string[] };

// Compose files and CI often set a variable to the empty string to mean "not set".
const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;
const variable = <T extends z.ZodType>(schema: T) => z.preprocess(blankToUndefined, schema);

const requiredText = (what: string) => z.string({ error: `is required (${what})` }).trim();
const integer = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
// setTimeout fires at once past 2^31-1 ms.
const milliseconds = integer(1, 2_147_483_647);
/** A limit: a whole number, or `off` to turn it off (never 0, which would refuse everyone). */
const limitOrOff = (max: number) =>
  z
    .string()
    .trim()
    .transform((text, context) => {
      if (text === 'off') return false as const;
      const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
      if (value >= 1 && value <= max) return value;
      context.addIssue({ code: 'custom', message: `must be a whole number from 1 to ${max}, or off` });
      return z.NEVER;
    });
const flag = z
  .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1');
const urlWith = (schemes: readonly string[], example: string) =>
  z
    .string()
    .trim()
    .refine(
      (value) => URL.canParse(value) && schemes.includes(new URL(value).protocol),
      `must be a ${schemes.map((scheme) => `${scheme}//`).join(' or ')} URL, e.g. ${example}`,
    );
/** Exact browser origins, comma-separated: what a page's `Origin` header says, no patterns. */
const browserOrigins = z
  .string()
  .transform((text) =>
    text
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== ''),
  )
  .pipe(
    z.array(
      z
        .string()
        .refine(
          (entry) =>
            !entry.includes('*') &&
            URL.canParse(entry) &&
            ['http:', 'https:'].includes(new URL(entry).protocol) &&
            new URL(entry).origin === entry,
          'must be an origin exactly as browsers send it (https://app.example.com: lower case, no path or trailing slash)',
        ),
    ),
  );
const secret = z.string().min(32, 'must be at least 32 characters (256 bits) for HS256');

/** JSON text parsed into an unknown value; the error names the position, never the text (it may hold secrets). */
const jsonText = (expected: string) =>
  z.string().transform((text, context) => {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      const position = /position (\d+)/.exec((error as Error).message)?.[1];
      context.addIssue({
        code: 'custom',
        message: `is not valid JSON${position === undefined ? '' : ` (at position ${position})`}: expected ${expected}`,
      });
      return z.NEVER;
    }
  });

const envSchema = z.object({
  PORT: variable(integer(0, 65_535).default(8080)),
  HOST: variable(z.string().trim().default('127.0.0.1')),
  DATABASE_URL: variable(
    requiredText('the PostgreSQL connection string').pipe(
      urlWith(['postgres:', 'postgresql:'], 'postgresql://user:password@db:5432/steward'),
    ),
  ),
  STEWARD_DATABASE_SCHEMA: variable(
    z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
      .default('steward'),
  ),
  STEWARD_MIGRATE: variable(flag.default(true)),
  REDIS_URL: variable(
    requiredText('the Redis URL').pipe(urlWith(['redis:', 'rediss:'], 'redis://redis:6379')),
  ),
  STEWARD_REDIS_PREFIX: variable(
    z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 characters of A-Z, a-z, 0-9, _ . : -')
      .default('steward'),
  ),
  STEWARD_JWT_SECRET: variable(secret.optional()),
  STEWARD_JWKS_URL: variable(
    urlWith(['https:', 'http:'], 'https://login.example.com/.well-known/jwks.json').optional(),
  ),
  STEWARD_JWT_ISSUER: variable(z.string().trim().optional()),
  STEWARD_JWT_AUDIENCE: variable(z.string().trim().optional()),
  STEWARD_RUN_TOKEN_SECRET: variable(secret.optional()),
  OPENAI_API_KEY: variable(requiredText('the OpenAI API key; any value for a server that ignores keys')),
  OPENAI_BASE_URL: variable(urlWith(['https:', 'http:'], 'https://api.openai.com/v1').optional()),
  STEWARD_MODEL: variable(requiredText('the model id, e.g. gpt-4.1-mini')),
  STEWARD_MODEL_API: variable(
    z.enum(['chat', 'responses'], { error: 'must be chat or responses' }).default('chat'),
  ),
  STEWARD_SYSTEM_PROMPT: variable(z.string().optional()),
  STEWARD_MCP_SERVERS: variable(
    jsonText('an array of MCP server configs').pipe(mcpServersSchema).default([]),
  ),
  STEWARD_MCP_JWT_SECRET: variable(secret.optional()),
  STEWARD_MCP_JWT_ISSUER: variable(z.string().trim().default('steward')),
  STEWARD_MCP_SYNC_INTERVAL_MS: variable(milliseconds.default(30_000)),
  STEWARD_MCP_ALLOWED_ORIGINS: variable(allowedOriginsSchema.default([])),
  STEWARD_MCP_ALLOWED_NETWORKS: variable(allowedNetworksSchema.default([])),
  STEWARD_RATE_LIMIT_RUNS: variable(limitOrOff(1_000_000).default(30)),
  STEWARD_RATE_LIMIT_WINDOW_MS: variable(milliseconds.default(60_000)),
  STEWARD_MAX_ACTIVE_RUNS: variable(limitOrOff(10_000).default(5)),
  STEWARD_CORS_ORIGINS: variable(browserOrigins.optional()),
  STEWARD_OAUTH_REDIRECT_URL: variable(
    urlWith(['https:', 'http:'], 'https://steward.example.com/api/v1/oauth/callback').optional(),
  ),
  STEWARD_OAUTH_COMPLETION_URL: variable(
    urlWith(['https:', 'http:'], 'https://app.example.com/connections/callback').optional(),
  ),
  // `id:base64key` entries, comma-separated (core's createEnvironmentKeyProvider checks them).
  STEWARD_VAULT_KEYS: variable(z.string().trim().optional()),
  STEWARD_DRAIN_TIMEOUT_MS: variable(integer(0, 2_147_483_647).default(25_000)),
  STEWARD_HEARTBEAT_MS: variable(milliseconds.default(5_000)),
  STEWARD_RECOVERY_INTERVAL_MS: variable(milliseconds.default(15_000)),
  STEWARD_TRACE_CONTENT: variable(flag.default(false)),
  STEWARD_MODEL_PRICES: variable(
    jsonText('an object of model ids to { inputPerMillion, cachedInputPerMillion, outputPerMillion }')
      .pipe(
        z.record(
          z.string().min(1),
          z
            .object({
              inputPerMillion: z.number().nonnegative(),
              cachedInputPerMillion: z.number().nonnegative().optional(),
              outputPerMillion: z.number().nonnegative(),
            })
            .strict(),
        ),
      )
      .default({}),
  ),
  STEWARD_TOKEN_BUDGET_DAY: variable(integer(1, Number.MAX_SAFE_INTEGER).optional()),
  STEWARD_TOKEN_BUDGET_MONTH: variable(integer(1, Number.MAX_SAFE_INTEGER).optional()),
  STEWARD_TOKEN_BUDGET_OVERRIDES: variable(
    jsonText('an object of user ids to { perDay, perMonth }')
      .pipe(
        z.record(
          z.string().min(1),
          z
            .object({
              perDay: z.number().int().positive().optional(),
              perMonth: z.number().int().positive().optional(),
            })
            .strict(),
        ),
      )
      .optional(),
  ),
});

/** The variables this service reads; the README documents each. */
export const knownVariables: readonly string[] = Object.keys(envSchema.shape);

/**
 * Reads and checks the whole configuration from `environment`. Nothing is connected here: a
 * service that gets `ok: false` should print every problem and exit.
 */
export function loadConfig(environment: Readonly<Record<string, string | undefined>>): ConfigResult {
  const parsed = envSchema.safeParse(environment);
  const problems = parsed.success ? [] : parsed.error.issues.map(describeIssue);
  problems.push(...crossChecks(environment, parsed.success ? parsed.data : undefined));
  if (!parsed.success || problems.length > 0) return { ok: false, problems };
  const env = parsed.data;
  const warnings = Object.keys(environment)
    .filter((name) => name.startsWith('STEWARD_') && !name.startsWith('STEWARD_TEST_'))
    .filter((name) => !knownVariables.includes(name))
    .map((name) => `${name} is not a variable this service reads (a typo?); it is ignored`);
  return {
    ok: true,
    warnings,
    config: {
      port: env.PORT,
      host: env.HOST,
      database: { url: env.DATABASE_URL, schema: env.STEWARD_DATABASE_SCHEMA, migrate: env.STEWARD_MIGRATE },
      redis: { url: env.REDIS_URL, prefix: env.STEWARD_REDIS_PREFIX },
      auth: {
        ...(env.STEWARD_JWT_SECRET === undefined ? {} : { secret: env.STEWARD_JWT_SECRET }),
        ...(env.STEWARD_JWKS_URL === undefined ? {} : { jwksUrl: env.STEWARD_JWKS_URL }),
        ...(env.STEWARD_JWT_ISSUER === undefined ? {} : { issuer: env.STEWARD_JWT_ISSUER }),
        ...(env.STEWARD_JWT_AUDIENCE === undefined
          ? {}
          : { audience: env.STEWARD_JWT_AUDIENCE.split(',').map((item) => item.trim()) }),
        ...(env.STEWARD_RUN_TOKEN_SECRET === undefined
          ? {}
          : { runTokenSecret: env.STEWARD_RUN_TOKEN_SECRET }),
      },
      model: {
        apiKey: env.OPENAI_API_KEY,
        model: env.STEWARD_MODEL,
        api: env.STEWARD_MODEL_API,
        ...(env.OPENAI_BASE_URL === undefined ? {} : { baseURL: env.OPENAI_BASE_URL }),
        ...(env.STEWARD_SYSTEM_PROMPT === undefined ? {} : { system: env.STEWARD_SYSTEM_PROMPT }),
      },
      mcp: {
        servers: asServerConfigs(env.STEWARD_MCP_SERVERS),
        syncIntervalMs: env.STEWARD_MCP_SYNC_INTERVAL_MS,
        registrations: {
          allowedOrigins: env.STEWARD_MCP_ALLOWED_ORIGINS,
          allowedNetworks: env.STEWARD_MCP_ALLOWED_NETWORKS,
        },
        ...(env.STEWARD_MCP_JWT_SECRET === undefined
          ? {}
          : { serviceAuth: { secret: env.STEWARD_MCP_JWT_SECRET, issuer: env.STEWARD_MCP_JWT_ISSUER } }),
      },
      rateLimit:
        env.STEWARD_RATE_LIMIT_RUNS === false
          ? false
          : { runs: env.STEWARD_RATE_LIMIT_RUNS, windowMs: env.STEWARD_RATE_LIMIT_WINDOW_MS },
      maxActiveRuns: env.STEWARD_MAX_ACTIVE_RUNS,
      ...(env.STEWARD_CORS_ORIGINS === undefined ? {} : { corsOrigins: env.STEWARD_CORS_ORIGINS }),
      ...(env.STEWARD_OAUTH_REDIRECT_URL === undefined ||
      env.STEWARD_OAUTH_COMPLETION_URL === undefined ||
      env.STEWARD_VAULT_KEYS === undefined
        ? {}
        : {
            oauth: {
              redirectUrl: env.STEWARD_OAUTH_REDIRECT_URL,
              completionUrl: env.STEWARD_OAUTH_COMPLETION_URL,
              vaultKeys: env.STEWARD_VAULT_KEYS,
            },
          }),
      drainTimeoutMs: env.STEWARD_DRAIN_TIMEOUT_MS,
      heartbeatMs: env.STEWARD_HEARTBEAT_MS,
      recoveryIntervalMs: env.STEWARD_RECOVERY_INTERVAL_MS,
      traceContent: env.STEWARD_TRACE_CONTENT,
      prices: env.STEWARD_MODEL_PRICES,
      ...(env.STEWARD_TOKEN_BUDGET_DAY === undefined &&
      env.STEWARD_TOKEN_BUDGET_MONTH === undefined &&
      env.STEWARD_TOKEN_BUDGET_OVERRIDES === undefined
        ? {}
        : {
            tokenBudget: {
              ...(env.STEWARD_TOKEN_BUDGET_DAY === undefined ? {} : { perDay: env.STEWARD_TOKEN_BUDGET_DAY }),
              ...(env.STEWARD_TOKEN_BUDGET_MONTH === undefined
                ? {}
                : { perMonth: env.STEWARD_TOKEN_BUDGET_MONTH }),
              overrides: env.STEWARD_TOKEN_BUDGET_OVERRIDES ?? {},
            },
          }),
    },
  };
}

/** Rules across variables; on the raw text, so they are reported even when another variable is bad. */
function crossChecks(
  environment: Readonly<Record<string, string | undefined>>,
  env: z.output<typeof envSchema> | undefined,
): string[] {
  const isSet = (name: string) => blankToUndefined(environment[name]) !== undefined;
  const problems: string[] = [];
  if (!isSet('STEWARD_JWT_SECRET') && !isSet('STEWARD_JWKS_URL'))
    problems.push(
      'STEWARD_JWT_SECRET or STEWARD_JWKS_URL: one is required (an HS256 secret of 32+ characters, or the JWKS URL of your OIDC provider)',
    );
  if (!isSet('STEWARD_JWT_SECRET') && isSet('STEWARD_JWKS_URL') && !isSet('STEWARD_RUN_TOKEN_SECRET'))
    problems.push(
      'STEWARD_RUN_TOKEN_SECRET: is required when only STEWARD_JWKS_URL is set (it signs run-scoped tokens)',
    );
  if (isSet('STEWARD_RATE_LIMIT_WINDOW_MS') && String(environment.STEWARD_RATE_LIMIT_RUNS).trim() === 'off')
    problems.push('STEWARD_RATE_LIMIT_WINDOW_MS: is set, but STEWARD_RATE_LIMIT_RUNS is off (a typo?)');
  if (isSet('STEWARD_MCP_ALLOWED_NETWORKS') && !isSet('STEWARD_MCP_ALLOWED_ORIGINS'))
    problems.push(
      'STEWARD_MCP_ALLOWED_ORIGINS: is required when STEWARD_MCP_ALLOWED_NETWORKS is set (without origins, nothing can be registered)',
    );
  const oauthVariables = ['STEWARD_OAUTH_REDIRECT_URL', 'STEWARD_OAUTH_COMPLETION_URL', 'STEWARD_VAULT_KEYS'];
  if (oauthVariables.some(isSet))
    for (const name of oauthVariables.filter((name) => !isSet(name)))
      problems.push(
        `${name}: is required with ${oauthVariables.filter(isSet).join(' and ')} (users connecting accounts need the callback, the host's completion page and the vault's keys)`,
      );
  env?.STEWARD_MCP_SERVERS.forEach((server, index) => {
    if (wantsUserOAuth(server) && !isSet('STEWARD_OAUTH_REDIRECT_URL'))
      problems.push(
        `STEWARD_MCP_SERVERS[${index}].auth: ${server.name} has users connect their accounts, which needs STEWARD_OAUTH_REDIRECT_URL, STEWARD_OAUTH_COMPLETION_URL and STEWARD_VAULT_KEYS`,
      );
    if (wantsServiceAuth(server) && env.STEWARD_MCP_JWT_SECRET === undefined)
      problems.push(
        `STEWARD_MCP_SERVERS[${index}].serviceAuth: ${server.name} asks for service JWTs, which need STEWARD_MCP_JWT_SECRET`,
      );
  });
  return problems;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const [name, ...rest] = issue.path;
  const path = `${String(name)}${rest.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('')}`;
  if (issue.code === 'unrecognized_keys')
    return `${path}: unknown ${issue.keys.length === 1 ? 'field' : 'fields'} ${issue.keys.join(', ')}`;
  return `${path}: ${issue.message}`;
}

/** The message a service prints before exiting on a bad configuration. */
export function formatProblems(problems: readonly string[]): string {
  const count = problems.length === 1 ? 'one problem' : `${problems.length} problems`;
  return `The orchestrator is not configured (${count}); nothing was started:\n${problems.map((problem) => `  - ${problem}`).join('\n')}\nSee examples/orchestrator/README.md for every variable.\n`;
}
