import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startIdentityProvider } from '@steward/example-identity-provider';
import { startGmailServer } from '@steward/example-mcp-gmail';
import { startMockOpenAI } from '@steward/testing';
import { demoModelReply } from './demo-model.ts';

/** Options of {@link startStack}. */
export interface StackOptions {
  /** The Next host's port (and public URL http://<host>:<port>). Default: a free one. */
  readonly appPort?: number;
  readonly orchestratorPort?: number;
  readonly identityPort?: number;
  /** The host name the browser uses for every service. Default `127.0.0.1`. */
  readonly host?: string;
  readonly databaseUrl?: string;
  readonly redisUrl?: string;
  /** A schema and a Redis prefix of their own (tests use a fresh one). Default `steward_next`. */
  readonly namespace?: string;
  /** Delay between the model's streamed words. Default 20 ms. */
  readonly chunkDelayMs?: number;
  /** Where the services' lines go. Default: nowhere (tests); the CLI prints them. */
  readonly onLine?: (service: string, line: string) => void;
}

/** The running demo: every URL, the Gmail mock's mailbox, and one way to stop it all. */
export interface Stack {
  readonly appUrl: string;
  readonly orchestratorUrl: string;
  readonly identityUrl: string;
  readonly gmail: Awaited<ReturnType<typeof startGmailServer>>;
  readonly orchestrator: ChildProcess;
  readonly next: ChildProcess;
  stop(): Promise<void>;
}

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const secret = () => randomBytes(32).toString('base64url');

/**
 * Starts the demo offline: the identity provider, the Gmail mock MCP server and the mock OpenAI
 * server in this process, then examples/orchestrator and the built Next host (`next start`)
 * each in its own process. The orchestrator trusts the Next host's JWKS and answers CORS for its
 * origin only. Needs `next build` first, a PostgreSQL and a Redis.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const host = options.host ?? '127.0.0.1';
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };
  try {
    const appPort = options.appPort ?? (await freePort());
    const appUrl = `http://${host}:${appPort}`;
    const clientSecret = secret();
    const identity = await startIdentityProvider({
      host: '127.0.0.1',
      port: options.identityPort ?? 0,
      ...(options.identityPort === undefined ? {} : { issuer: `http://${host}:${options.identityPort}` }),
      clients: [
        {
          clientId: 'next-host',
          clientSecret,
          clientName: 'Steward on Next.js',
          redirectUris: [`${appUrl}/auth/callback`],
          postLogoutRedirectUris: [`${appUrl}/login`],
        },
      ],
    });
    cleanups.push(() => identity.stop());
    const model = await startMockOpenAI({ reply: demoModelReply, chunkDelayMs: options.chunkDelayMs ?? 20 });
    cleanups.push(() => model.close());
    const mcpSecret = secret();
    const gmail = await startGmailServer({ auth: { secret: mcpSecret, issuer: 'steward' } });
    cleanups.push(() => gmail.stop());

    const orchestratorPort = options.orchestratorPort ?? (await freePort());
    const namespace = options.namespace ?? 'steward_next';
    const orchestrator = await startProcess(
      'orchestrator',
      process.execPath,
      [here('../../../orchestrator/src/main.ts')],
      {
        PORT: String(orchestratorPort),
        HOST: '127.0.0.1',
        DATABASE_URL: options.databaseUrl ?? 'postgresql://postgres@127.0.0.1:5432/test',
        STEWARD_DATABASE_SCHEMA: namespace,
        REDIS_URL: options.redisUrl ?? 'redis://127.0.0.1:6379',
        STEWARD_REDIS_PREFIX: namespace,
        // Pattern B: user tokens come from the Next host, verified against its JWKS.
        STEWARD_JWKS_URL: `http://127.0.0.1:${appPort}/.well-known/jwks.json`,
        STEWARD_JWT_ISSUER: appUrl,
        STEWARD_JWT_AUDIENCE: 'steward',
        STEWARD_RUN_TOKEN_SECRET: secret(),
        STEWARD_CORS_ORIGINS: appUrl,
        OPENAI_API_KEY: 'offline-demo',
        OPENAI_BASE_URL: model.baseURL,
        STEWARD_MODEL: 'demo',
        STEWARD_MCP_SERVERS: JSON.stringify([
          {
            name: 'gmail',
            transport: 'streamable-http',
            url: `${gmail.url}/mcp`,
            readOnlyTools: ['GMAIL_FETCH_EMAILS'],
            serviceAuth: {},
          },
        ]),
        STEWARD_MCP_JWT_SECRET: mcpSecret,
        STEWARD_RATE_LIMIT_RUNS: 'off',
      },
      (line) => line.includes('"msg":"listening"'),
      options.onLine,
    );
    cleanups.push(() => stopProcess(orchestrator));

    const next = await startProcess(
      'next',
      process.execPath,
      [createRequire(import.meta.url).resolve('next/dist/bin/next'), 'start', '--port', String(appPort)],
      {
        NEXT_TELEMETRY_DISABLED: '1',
        APP_URL: appUrl,
        ORCHESTRATOR_URL: `http://${host}:${orchestratorPort}`,
        ORCHESTRATOR_INTERNAL_URL: `http://127.0.0.1:${orchestratorPort}`,
        OIDC_ISSUER: identity.issuer,
        OIDC_CLIENT_ID: 'next-host',
        OIDC_CLIENT_SECRET: clientSecret,
        SESSION_SECRET: secret(),
      },
      (line) => /Ready in|started server/i.test(line),
      options.onLine,
      here('../..'),
    );
    cleanups.push(() => stopProcess(next));
    return {
      appUrl,
      orchestratorUrl: `http://${host}:${orchestratorPort}`,
      identityUrl: identity.issuer,
      gmail,
      orchestrator,
      next,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Spawns a service with exactly `environment` (plus PATH) and resolves once a line says it is ready. */
function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  environment: Record<string, string>,
  ready: (line: string) => boolean,
  onLine: StackOptions['onLine'],
  cwd?: string,
): Promise<ChildProcess> {
  const child = spawn(command, args, {
    // Exactly these variables: nothing leaks in from the caller's environment.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'production',
      ...environment,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd === undefined ? {} : { cwd }),
  });
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const read = (line: string) => {
      lines.push(line);
      onLine?.(name, line);
      if (ready(line)) resolve(child);
    };
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', read);
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', read);
    child.once('exit', (code) =>
      reject(new Error(`${name} exited with ${code} before it was ready:\n${lines.slice(-30).join('\n')}`)),
    );
  });
}

/** SIGTERM (the orchestrator drains), then SIGKILL after 10 s. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
