import type { RunRecord, StewardEvent } from '@steward/core';
import { createPostgresStorage } from '@steward/storage-postgres';
import { createRedisRunStore } from '@steward/storage-redis';

/** The test's own view of what the replicas stored, straight from PostgreSQL and Redis (no proxies). */
export interface StoredLog {
  run(runId: string, userId: string): Promise<RunRecord | undefined>;
  /** The durable copy (PostgreSQL). */
  durable(runId: string, userId: string): Promise<readonly StewardEvent[]>;
  /** The live copy (Redis), which readers on any replica tail. */
  live(runId: string): Promise<readonly StewardEvent[]>;
  close(): Promise<void>;
}

export function openStoredLog(options: {
  databaseUrl: string;
  schema: string;
  redisUrl: string;
  prefix: string;
}): StoredLog {
  const durable = createPostgresStorage({
    connectionString: options.databaseUrl,
    schema: options.schema,
    migrate: false,
  });
  const live = createRedisRunStore({ url: options.redisUrl, prefix: options.prefix });
  return {
    run: (runId, userId) => durable.getRun(runId, { userId }),
    durable: (runId, userId) => durable.listEvents(runId, { userId }),
    live: (runId) => live.listEvents(runId),
    async close() {
      await Promise.all([durable.close(), live.close()]);
    },
  };
}
