export { type Migration, migrations } from './migrations.ts';
export { createPgVectorMemory, type PgVectorMemory, type PgVectorMemoryOptions } from './pgvector-memory.ts';
export {
  createPostgresStorage,
  type PostgresStorage,
  type PostgresStorageOptions,
} from './postgres-storage.ts';
export { createPostgresRegistrationStore, type StoredRegistration } from './registration-store.ts';
export type { PGliteLike } from './sql-driver.ts';
