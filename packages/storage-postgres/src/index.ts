export type { CompactedSession, CompactSessionsOptions } from './compact-sessions.ts';
export { type Migration, migrations } from './migrations.ts';
export type { MigrationReport } from './migrator.ts';
export { createPgVectorMemory, type PgVectorMemory, type PgVectorMemoryOptions } from './pgvector-memory.ts';
export {
  createPostgresStorage,
  type PostgresStorage,
  type PostgresStorageOptions,
} from './postgres-storage.ts';
export { createPostgresVaultStore } from './postgres-vault-store.ts';
export { createPostgresRegistrationStore, type StoredRegistration } from './registration-store.ts';
export type { PGliteLike } from './sql-driver.ts';
export type { PreferenceValue, UsageQuery, UsageSummary } from './users.ts';
