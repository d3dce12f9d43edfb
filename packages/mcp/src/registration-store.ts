import type { McpServerRegistration } from './registration.ts';

/**
 * Where MCP server registrations are kept, so they survive a restart. The Postgres adapter
 * implements it; the in-memory default keeps them for the life of the process.
 *
 * The registry trusts no row it reads back: anyone with database access (or the admin API)
 * could have written it. Each is parsed as a registration and checked against the registry's
 * `registrations` policy; a row that does not pass is left in place, not loaded, and reported
 * through `onWarning`.
 */
export interface RegistrationStore {
  list(): Promise<readonly unknown[]>;
  /** Inserts or replaces the registration with this name. */
  save(registration: McpServerRegistration): Promise<void>;
  /** Resolves true when a registration was removed. */
  remove(name: string): Promise<boolean>;
}

/** Keeps registrations in process memory. */
export function createInMemoryRegistrationStore(): RegistrationStore {
  const registrations = new Map<string, McpServerRegistration>();
  return {
    list: async () => structuredClone([...registrations.values()]),
    save: async (registration) => {
      registrations.set(registration.name, structuredClone(registration));
    },
    remove: async (name) => registrations.delete(name),
  };
}
