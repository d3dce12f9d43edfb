import { Assistant, defineTool, type Storage } from '@steward/core';
import { createScriptedModel, type ScriptedStep } from '@steward/core/testing';
import { createPostgresStorage } from '@steward/storage-postgres';
import { createRedisRunStore, withRedisRunEvents } from '@steward/storage-redis';
import { Redis } from 'ioredis';
import { z } from 'zod';

/** Where the instances meet: one Postgres schema and one Redis key prefix. */
export interface Shared {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly schema: string;
  readonly prefix: string;
}

/** One Steward instance's storage: durable state in Postgres, run events through Redis. */
export function sharedStorage(shared: Shared) {
  const durable = createPostgresStorage({ connectionString: shared.databaseUrl, schema: shared.schema });
  const runs = createRedisRunStore({ url: shared.redisUrl, prefix: shared.prefix });
  const storage: Storage = withRedisRunEvents(durable, runs);
  return { storage, durable, runs, close: async () => Promise.all([durable.close(), runs.close()]) };
}

/** An instance whose model streams `words` words slowly, beating its heart every `heartbeatMs`. */
export function slowAssistant(storage: Storage, words: number, heartbeatMs: number) {
  const text = Array.from({ length: words }, (_value, index) => `w${index + 1}`).join(' ');
  return new Assistant({
    model: createScriptedModel([{ text, delayMs: 20 }]),
    storage,
    limits: { heartbeatMs },
  });
}

/**
 * An instance with a side-effect `send_email` tool that records each send in a Redis list both
 * processes see, so a test can count sends across instances.
 */
export function mailAssistant(storage: Storage, shared: Shared, steps: readonly ScriptedStep[]) {
  const redis = new Redis(shared.redisUrl, { protocol: 2 });
  const sendEmail = defineTool({
    name: 'send_email',
    description: 'Sends an email',
    input: z.object({ to: z.string() }),
    sideEffect: true,
    execute: async ({ to }) => {
      await redis.rpush(`${shared.prefix}:sent`, to);
      return { sent: true, to };
    },
  });
  const assistant = new Assistant({
    model: createScriptedModel(steps),
    storage,
    tools: [sendEmail],
    limits: { heartbeatMs: 100, approvalPollMs: 100 },
  });
  return { assistant, close: () => redis.quit() };
}
