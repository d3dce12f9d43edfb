export {
  createRedisRunStore,
  type RedisRunStore,
  type RedisRunStoreOptions,
  type SessionLock,
} from './redis-run-store.ts';
export { withRedisRunEvents } from './with-redis-run-events.ts';
