import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEnvironmentKeyProvider, createTokenVault, defaultOpenAIPrices } from '@steward/core';
import { createOpenAIModel } from '@steward/core/openai';
import { createMcpRegistry, createServiceTokenSigner, type McpServerRegistration } from '@steward/mcp';
import {
  createPostgresRegistrationStore,
  createPostgresStorage,
  createPostgresVaultStore,
} from '@steward/storage-postgres';
import { createRedisRunStore, createRedisTokenBudget, withRedisRunEvents } from '@steward/storage-redis';
import { attachWebSocket, createJwtAuth, createStewardApi, toNodeHandler } from '@steward/transport-ws';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { OrchestratorConfig } from './config.ts';
import { type DrainReport, drainRuns, TrackedAssistant } from './drain.ts';
import { createFrontHandler, refuseUpgrade } from './front-handler.ts';
import type { Logger } from './logger.ts';
import { createOrchestratorMetrics } from './metrics.ts';
import { startRegistrationSync } from './registration-sync.ts';
import { observeRuns } from './run-observer.ts';
import { sleep, withTimeout } from './timing.ts';
import { createUsageReport } from './usage-report.ts';

/** A running orchestrator. */
export interface Orchestrator {
  /** `http://host:port` once listening. */
  readonly url: string;
  /**
   * Drains and closes everything: new runs and approvals get 503, WebSockets close with 1001,
   * runs under way finish (or are aborted at the drain deadline), then the registry, Redis and
   * Postgres close. A second call cuts the wait for runs short.
   */
  shutdown(reason: string): Promise<DrainReport>;
}

/**
 * Connects Postgres (migrating it unless told not to), Redis and the MCP servers, then serves the
 * Steward API, `/ws`, `/healthz`, `/readyz` and `/metrics` (Prometheus) on one port. Rejects, with everything it opened
 * closed again, when a dependency cannot be reached.
 */
export async function startOrchestrator(config: OrchestratorConfig, logger: Logger): Promise<Orchestrator> {
  const cleanup: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const close of cleanup.splice(0).reverse())
      await close().catch((error: unknown) => logger.warn('close_failed', { error }));
  };
  try {
    return await start(config, logger, cleanup, closeAll);
  } catch (error) {
    await closeAll();
    throw error;
  }
}

async function start(
  config: OrchestratorConfig,
  logger: Logger,
  cleanup: (() => Promise<unknown>)[],
  closeAll: () => Promise<void>,
): Promise<Orchestrator> {
  // Our own pool and client: the readiness probe uses them, and they get error listeners (an
  // idle pg client that loses its connection emits 'error', which would otherwise crash the process).
  // Read when scraped, by then the registry exists.
  const metrics = createOrchestratorMetrics({ circuits: () => registry.status() });
  const pool = new pg.Pool({ connectionString: config.database.url });
  pool.on('error', (error) => {
    metrics.dependencyErrors.inc({ dependency: 'postgres' });
    logger.warn('postgres_client_error', { error });
  });
  cleanup.push(() => pool.end());
  const durable = createPostgresStorage({ pool, schema: config.database.schema, migrate: false });
  cleanup.push(() => durable.close());
  if (config.database.migrate) {
    const report = await durable.migrate();
    logger.info('postgres_migrated', { schema: config.database.schema, ...report });
  } else await pool.query('SELECT 1');

  const redis = new Redis(config.redis.url, { protocol: 2, lazyConnect: true });
  let redisError: Error | undefined;
  redis.on('error', (error) => {
    redisError = error;
    metrics.dependencyErrors.inc({ dependency: 'redis' });
    logger.warn('redis_error', { error });
  });
  cleanup.push(async () => {
    if (redis.status === 'ready') await redis.quit();
    else redis.disconnect();
  });
  const redisAt = redactedUrl(config.redis.url);
  await withTimeout(redis.connect(), 10_000, `no answer within 10 s`).catch((error: unknown) => {
    throw new Error(`Could not connect to Redis at ${redisAt}: ${(redisError ?? (error as Error)).message}`, {
      cause: error,
    });
  });
  const runs = createRedisRunStore({ redis, prefix: config.redis.prefix });
  cleanup.push(() => runs.close());
  const storage = withRedisRunEvents(durable, runs);

  // STEWARD_MCP_SERVERS is the operator's word: those servers may spawn commands, are never
  // stored, and win over a stored registration of the same name. What the API registers (and
  // any row in mcp_registrations) is a registration: network only, within the allowlists.
  const registrations = createPostgresRegistrationStore<McpServerRegistration>(durable);
  const registry = createMcpRegistry({
    servers: config.mcp.servers,
    store: registrations,
    registrations: config.mcp.registrations,
    ...(config.mcp.serviceAuth === undefined
      ? {}
      : {
          serviceAuth: {
            signer: createServiceTokenSigner({
              issuer: config.mcp.serviceAuth.issuer,
              key: config.mcp.serviceAuth.secret,
            }),
          },
        }),
    // Users' OAuth tokens, client registrations and pending authorizations: encrypted, in
    // Postgres, so any replica completes an authorization another began.
    ...(config.oauth === undefined
      ? {}
      : {
          oauth: {
            vault: createTokenVault({
              store: createPostgresVaultStore(durable),
              keys: createEnvironmentKeyProvider({ keys: config.oauth.vaultKeys }),
            }),
            redirectUrl: config.oauth.redirectUrl,
          },
        }),
    onWarning: (warning) => logger.warn('mcp_warning', { error: warning }),
  });
  cleanup.push(() => registry.close());
  await registry.ready();
  const declared = new Set(config.mcp.servers.map((server) => server.name));
  for (const status of registry.status().filter((server) => declared.has(server.name)))
    logger.info('mcp_server_registered', { server: status.name, state: status.state, tools: status.tools });

  const assistant = new TrackedAssistant({
    model: createOpenAIModel({
      model: config.model.model,
      api: config.model.api,
      apiKey: config.model.apiKey,
      ...(config.model.baseURL === undefined ? {} : { baseURL: config.model.baseURL }),
    }),
    tools: [registry],
    storage,
    coordinator: runs,
    limits: { heartbeatMs: config.heartbeatMs },
    telemetry: { recordContent: config.traceContent },
    prices: { ...defaultOpenAIPrices, ...config.prices },
    ...(config.tokenBudget === undefined
      ? {}
      : { budget: tokenBudgetOf(config.tokenBudget, redis, config.redis.prefix) }),
    ...(config.model.system === undefined ? {} : { system: config.model.system }),
  });
  observeRuns(assistant, logger, metrics);
  cleanup.push(async () => assistant.close());

  // The limits are the served API's: they hold across replicas through the Redis coordinator.
  const auth = createJwtAuth(config.auth);
  const api = createStewardApi({
    assistant,
    auth,
    tools: registry,
    // The callback hands the browser to the host's page, which completes as the signed-in user.
    ...(config.oauth === undefined
      ? {}
      : { authorizations: registry, oauth: { completionUrl: config.oauth.completionUrl } }),
    rateLimit: config.rateLimit,
    maxActiveRuns: config.maxActiveRuns,
    // Pattern B: pages on these origins call the API and open /ws from the browser.
    ...(config.corsOrigins === undefined ? {} : { allowedOrigins: config.corsOrigins }),
    onWarning: (warning) => logger.warn('api_failure', { error: warning }),
  });
  let draining = false;
  const server = createServer(
    createFrontHandler({
      api: toNodeHandler(api),
      checks: { postgres: () => pool.query('SELECT 1'), redis: () => redis.ping() },
      details: () => ({ mcp: registry.status().map(({ name, state, tools }) => ({ name, state, tools })) }),
      isDraining: () => draining,
      logger,
      metrics,
      usage: createUsageReport({ pool, schema: config.database.schema, auth }),
    }),
  );
  // Upgrades are counted here, in front of the transport: the socket's close ends the count.
  server.on('upgrade', (_request, socket) => {
    metrics.openStreams.inc({ kind: 'websocket' });
    socket.once('close', () => metrics.openStreams.dec({ kind: 'websocket' }));
  });
  const detachWebSocket = attachWebSocket(server, api);
  await listen(server, config.port, config.host);
  cleanup.push(() => closeServer(server));
  const { port } = server.address() as AddressInfo;

  const stopRecovery = every(
    config.recoveryIntervalMs,
    async () => {
      const recovered = await assistant.recoverInterruptedRuns();
      if (recovered.length > 0) logger.info('runs_recovered', { runIds: recovered });
    },
    (error) => logger.warn('recovery_failed', { error }),
  );
  const stopSync = startRegistrationSync(registry, registrations, {
    intervalMs: config.mcp.syncIntervalMs,
    declared,
    logger,
  });

  const hurry = new AbortController();
  let shutting: Promise<DrainReport> | undefined;
  return {
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    shutdown(reason) {
      if (shutting !== undefined) {
        hurry.abort();
        return shutting;
      }
      shutting = (async () => {
        draining = true;
        logger.info('drain_started', {
          reason,
          runs: assistant.localRuns.length,
          drainTimeoutMs: config.drainTimeoutMs,
        });
        // Upgrades now get 503; open sockets get 1001 and resume elsewhere by last_seq.
        server.on('upgrade', refuseUpgrade);
        await Promise.race([detachWebSocket(), sleep(5_000)]);
        const report = await drainRuns(assistant, { timeoutMs: config.drainTimeoutMs, hurry: hurry.signal });
        logger.info('drain_finished', { ...report });
        stopRecovery();
        stopSync();
        await closeAll();
        return report;
      })();
      return shutting;
    },
  };
}

/** Runs `task` now and every `intervalMs`, never two at once. */
function every(intervalMs: number, task: () => Promise<void>, onError: (error: unknown) => void): () => void {
  let busy = false;
  const tick = () => {
    if (busy) return;
    busy = true;
    task()
      .catch(onError)
      .finally(() => {
        busy = false;
      });
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections(); // SSE readers resume elsewhere with Last-Event-ID.
  });
}

/** A URL without its password, for messages. */
function redactedUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}

/** The users' token budgets, counted in the replicas' shared Redis. */
function tokenBudgetOf(budget: NonNullable<OrchestratorConfig['tokenBudget']>, redis: Redis, prefix: string) {
  const { overrides, ...limits } = budget;
  return createRedisTokenBudget({
    redis,
    prefix,
    limits,
    // An override replaces the defaults for that user: a period it leaves out has no limit.
    limitsFor: (userId) => (Object.hasOwn(overrides, userId) ? overrides[userId] : undefined),
  });
}
