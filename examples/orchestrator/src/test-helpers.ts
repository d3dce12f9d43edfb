import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { StewardEvent } from '@steward/core';
import type { StewardClient, StreamOptions } from '@steward/transport-ws/client';
import { Redis } from 'ioredis';
import pg from 'pg';

/** An orchestrator process started by {@link startInstance}. */
export interface Instance {
  readonly name: string;
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Resolves with the exit code once the process ended. */
  readonly exited: Promise<number | null>;
  /** Every line it printed, stdout and stderr. */
  readonly lines: readonly string[];
}

/**
 * Spawns `node src/main.ts` with exactly `environment` (plus PATH: nothing else leaks in from
 * the test's own environment) and resolves once it logs `listening`.
 */
export function startInstance(name: string, environment: Record<string, string>): Promise<Instance> {
  const child = spawn(process.execPath, [new URL('./main.ts', import.meta.url).pathname], {
    env: { PATH: process.env.PATH ?? '', ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  createInterface({ input: child.stderr }).on('line', (line) => lines.push(line));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      const entry = parseLine(line);
      if (entry?.msg === 'listening' && typeof entry.url === 'string')
        resolve({ name, child, url: entry.url, exited, lines });
    });
    void exited.then((code) =>
      reject(new Error(`instance ${name} exited with ${code} before listening:\n${lines.join('\n')}`)),
    );
  });
}

/** The JSON log entries of an instance with this `msg`. */
export function logEntries(instance: Instance, message: string): Record<string, unknown>[] {
  return instance.lines.map(parseLine).filter((entry) => entry?.msg === message) as Record<string, unknown>[];
}

function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Ends an instance that is still running (SIGTERM, then SIGKILL after `graceMs`). */
export async function stopInstance(instance: Instance, graceMs = 10_000): Promise<void> {
  if (instance.child.exitCode !== null || instance.child.signalCode !== null) return;
  instance.child.kill('SIGTERM');
  const timer = setTimeout(() => instance.child.kill('SIGKILL'), graceMs);
  await instance.exited;
  clearTimeout(timer);
}

/** A run's events as they stream, and a promise of all of them once the stream ends. */
export function collect(client: StewardClient, runId: string, options: StreamOptions = {}) {
  const events: StewardEvent[] = [];
  const done = (async () => {
    for await (const event of client.stream(runId, options)) events.push(event);
    return events;
  })();
  return { events, done };
}

/** The text of a run's `token` events, joined. */
export function tokensOf(events: readonly StewardEvent[]): string {
  return events.flatMap((event) => (event.type === 'token' ? [event.text] : [])).join('');
}

/** `w1 w2 … wN`: what the mock model streams for `count N`, one word a chunk. */
export function words(count: number): string {
  return Array.from({ length: count }, (_value, index) => `w${index + 1}`).join(' ');
}

/** Drops the test's schema and deletes its Redis keys. */
export async function removeSharedState(options: {
  databaseUrl: string;
  schema: string;
  redisUrl: string;
  prefix: string;
}): Promise<void> {
  const admin = new pg.Client({ connectionString: options.databaseUrl });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(options.schema)} CASCADE`);
  await admin.end();
  const redis = new Redis(options.redisUrl, { protocol: 2 });
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${options.prefix}:*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
}
