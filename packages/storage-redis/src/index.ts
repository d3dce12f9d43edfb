export {
  createRedisRunStore,
  type RedisRunStore,
  type RedisRunStoreOptions,
  type SessionLock,
} from './redis-run-store.ts';
export {
  createRedisTokenBudget,
  type RedisTokenBudget,
  type RedisTokenBudgetOptions,
} from './redis-token-budget.ts';
export { withRedisRunEvents } from './with-redis-run-events.ts';
