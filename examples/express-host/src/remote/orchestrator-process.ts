import type { ChildProcess } from 'node:child_process';
import { startGmailServer } from '@steward/example-mcp-gmail';
import { startOrchestratorProcess } from '@steward/example-orchestrator/process';
import { type MockOpenAIServer, startMockOpenAI } from '@steward/testing';
import pg from 'pg';
import { createClient } from 'redis';
import { gmailModelReply } from '../scripted-model.ts';

/** @internal `examples/orchestrator` in a child process, with the demo's model and Gmail mock in this one. */
export interface RemoteOrchestrator {
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

/**
 * @internal Starts `examples/orchestrator` (its `startOrchestratorProcess`) against the machine's PostgreSQL
 * and Redis (a fresh schema and key prefix), the demo's scripted model and the Gmail mock
 * behind service JWTs, as `docker compose` would run it beside the host.
 */
export async function startRemoteOrchestrator(
  options: { chunkDelayMs?: number; databaseUrl?: string; redisUrl?: string } = {},
): Promise<RemoteOrchestrator> {
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
  const stopMocks = async () => {
    await gmail.stop().catch(() => {});
    await model.close().catch(() => {});
  };
  let orchestrator: Awaited<ReturnType<typeof startOrchestratorProcess>>;
  try {
    orchestrator = await startOrchestratorProcess('express-host', {
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
    });
  } catch (error) {
    await stopMocks();
    await removeState().catch(() => {});
    throw error;
  }
  return {
    url: orchestrator.url,
    secret,
    gmail,
    model,
    child: orchestrator.child,
    lines: orchestrator.lines,
    async stop() {
      await orchestrator.stop();
      await stopMocks();
      await removeState();
    },
  };
}
