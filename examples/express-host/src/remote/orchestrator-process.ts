import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startGmailServer } from '@steward/example-mcp-gmail';
import { type MockOpenAIServer, startMockOpenAI } from '@steward/testing';
import pg from 'pg';
import { createClient } from 'redis';
import { gmailModelReply } from '../scripted-model.ts';

/** @internal `examples/orchestrator` in a child process, with the demo's model and Gmail mock in this one. */
export interface OrchestratorProcess {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The orchestrator's `STEWARD_JWT_SECRET`: what the host signs its service tokens with. */
  readonly secret: string;
  readonly gmail: Awaited<ReturnType<typeof startGmailServer>>;
  readonly model: MockOpenAIServer;
  readonly child: ChildProcess;
  /** Every line it printed. */
  readonly lines: readonly string[];
  /** Stops it (SIGTERM), the mocks, and removes its schema and Redis keys. */
  stop(): Promise<void>;
}

const mainPath = fileURLToPath(new URL('../../../orchestrator/src/main.ts', import.meta.url));

/**
 * @internal Starts `node examples/orchestrator/src/main.ts` against the machine's PostgreSQL
 * and Redis (a fresh schema and key prefix), the demo's scripted model and the Gmail mock
 * behind service JWTs, as `docker compose` would run it beside the host.
 */
export async function startOrchestratorProcess(
  options: { chunkDelayMs?: number; databaseUrl?: string; redisUrl?: string } = {},
): Promise<OrchestratorProcess> {
  const databaseUrl =
    options.databaseUrl ??
    process.env.STEWARD_TEST_DATABASE_URL ??
    'postgresql://postgres@127.0.0.1:5432/test';
  const redisUrl = options.redisUrl ?? process.env.STEWARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const unique = `${process.pid}_${Date.now().toString(36)}`;
  const schema = `steward_host_remote_${unique}`;
  const prefix = `steward-host-remote-${unique}`;
  const secret = `host-orchestrator-secret-${unique}-at-least-32`;
  const mcpSecret = `host-orchestrator-mcp-secret-${unique}-32+`;
  const model = await startMockOpenAI({ reply: gmailModelReply, chunkDelayMs: options.chunkDelayMs ?? 15 });
  const gmail = await startGmailServer({ auth: { secret: mcpSecret, issuer: 'steward' } });
  const child = spawn(process.execPath, [mainPath], {
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: databaseUrl,
      STEWARD_DATABASE_SCHEMA: schema,
      REDIS_URL: redisUrl,
      STEWARD_REDIS_PREFIX: prefix,
      OPENAI_API_KEY: 'mock-key',
      OPENAI_BASE_URL: model.baseURL,
      STEWARD_MODEL: 'gpt-4.1-mini',
      STEWARD_JWT_SECRET: secret,
      STEWARD_MCP_JWT_SECRET: mcpSecret,
      STEWARD_MCP_SERVERS: JSON.stringify([
        {
          name: 'gmail',
          transport: 'streamable-http',
          url: gmail.mcpUrl,
          readOnlyTools: ['GMAIL_FETCH_EMAILS'],
          serviceAuth: {},
        },
      ]),
      STEWARD_RATE_LIMIT_RUNS: 'off',
      STEWARD_MAX_ACTIVE_RUNS: 'off',
      STEWARD_DRAIN_TIMEOUT_MS: '0',
      PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  createInterface({ input: child.stderr }).on('line', (line) => lines.push(line));
  const stopMocks = async () => {
    await gmail.stop().catch(() => {});
    await model.close().catch(() => {});
  };
  const removeState = async () => {
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    await admin.end();
    const redis = createClient({ url: redisUrl });
    await redis.connect();
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}:*`, COUNT: 500 })) {
      const batch = ([] as string[]).concat(keys);
      if (batch.length > 0) await redis.del(batch);
    }
    await redis.quit();
  };
  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        lines.push(line);
        const entry = parseLine(line);
        if (entry?.msg === 'listening' && typeof entry.url === 'string') resolve(entry.url);
      });
      void exited.then(() =>
        reject(new Error(`The orchestrator exited before listening:\n${lines.join('\n')}`)),
      );
    });
  } catch (error) {
    await stopMocks();
    await removeState().catch(() => {});
    throw error;
  }
  return {
    url,
    secret,
    gmail,
    model,
    child,
    lines,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await stopMocks();
      await removeState();
    },
  };
}

function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
