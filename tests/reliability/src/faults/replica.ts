import { type OrchestratorProcess, startOrchestratorProcess } from '@steward/example-orchestrator/process';
import { type FaultProxy, startFaultProxy } from '@steward/testing/fault-proxy';

/**
 * An orchestrator process whose PostgreSQL and Redis connections go through its own fault
 * proxies. `stop()` kills it outright (SIGKILL, as a crash would) and closes its proxies.
 */
export interface Replica extends OrchestratorProcess {
  readonly postgres: FaultProxy;
  readonly redis: FaultProxy;
  stop(): Promise<void>;
}

/**
 * Spawns `examples/orchestrator/src/main.ts` as its tests do (exactly `environment`, plus PATH),
 * with DATABASE_URL and REDIS_URL pointed at fresh fault proxies in front of the real servers, and
 * resolves once it logs `listening`.
 */
export async function startReplica(
  name: string,
  options: { databaseUrl: string; redisUrl: string; environment: Record<string, string> },
): Promise<Replica> {
  const database = new URL(options.databaseUrl);
  const redisTarget = new URL(options.redisUrl);
  const postgres = await startFaultProxy(Number(database.port || 5432), { host: database.hostname });
  const redis = await startFaultProxy(Number(redisTarget.port || 6379), { host: redisTarget.hostname });
  const proxiedDatabase = new URL(database);
  proxiedDatabase.host = `127.0.0.1:${postgres.port}`;
  proxiedDatabase.searchParams.set('application_name', `steward-reliability-${name}`);
  const proxiedRedis = new URL(redisTarget);
  proxiedRedis.host = `127.0.0.1:${redis.port}`;

  const orchestrator = await startOrchestratorProcess(name, {
    ...options.environment,
    DATABASE_URL: proxiedDatabase.toString(),
    REDIS_URL: proxiedRedis.toString(),
  });
  return {
    ...orchestrator,
    postgres,
    redis,
    async stop() {
      if (orchestrator.alive()) {
        orchestrator.child.kill('SIGKILL');
        await orchestrator.exited;
      }
      await Promise.all([postgres.close(), redis.close()]);
    },
  };
}
