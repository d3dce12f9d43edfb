import { createInMemoryStorage } from '@steward/core';
import { runStorageConformance } from '@steward/testing/conformance';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { createRedisRunStore, type RedisRunStore } from './redis-run-store.ts';
import { withRedisRunEvents } from './with-redis-run-events.ts';

// Run events through the machine's real Redis, everything else in memory; each storage gets its
// own key prefix, so the suite's run ids never meet.
const url = process.env.STEWARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `steward-test-conformance-${process.pid}-${Date.now().toString(36)}`;
const stores: RedisRunStore[] = [];
let counter = 0;

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  const admin = new Redis(url, { protocol: 2 });
  const keys = await admin.keys(`${prefix}-*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

runStorageConformance({
  name: 'redis (withRedisRunEvents)',
  create: () => {
    const runs = createRedisRunStore({ url, prefix: `${prefix}-${counter++}` });
    stores.push(runs);
    return withRedisRunEvents(createInMemoryStorage(), runs);
  },
});
