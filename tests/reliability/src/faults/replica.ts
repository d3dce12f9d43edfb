import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type FaultProxy, startFaultProxy } from '@steward/testing/fault-proxy';

const orchestratorMain = fileURLToPath(
  new URL('../../../../examples/orchestrator/src/main.ts', import.meta.url),
);

/** An orchestrator process whose PostgreSQL and Redis connections go through its own fault proxies. */
export interface Replica {
  readonly name: string;
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly postgres: FaultProxy;
  readonly redis: FaultProxy;
  /** Every line it printed, stdout and stderr. */
  readonly lines: readonly string[];
  /** Resolves with the exit code (or signal) once the process ended. */
  readonly exited: Promise<number | string | null>;
  /** Whether the process is still running. */
  alive(): boolean;
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

  const child = spawn(process.execPath, [orchestratorMain], {
    env: {
      PATH: process.env.PATH ?? '',
      ...options.environment,
      DATABASE_URL: proxiedDatabase.toString(),
      REDIS_URL: proxiedRedis.toString(),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  createInterface({ input: child.stderr }).on('line', (line) => lines.push(line));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      const entry = parseLine(line);
      if (entry?.msg === 'listening' && typeof entry.url === 'string') resolve(entry.url);
    });
    void exited.then((code) =>
      reject(new Error(`replica ${name} exited (${code}) before listening:\n${lines.join('\n')}`)),
    );
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    name,
    child,
    url,
    postgres,
    redis,
    lines,
    exited,
    alive,
    async stop() {
      if (alive()) {
        child.kill('SIGKILL');
        await exited;
      }
      await Promise.all([postgres.close(), redis.close()]);
    },
  };
}

/** The JSON log entries of a replica with this `msg`. */
export function logEntries(replica: Replica, message: string): Record<string, unknown>[] {
  return replica.lines.map(parseLine).filter((entry) => entry?.msg === message) as Record<string, unknown>[];
}

function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
