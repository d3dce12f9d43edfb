import type { McpServerConfig } from './server-config.ts';

/**
 * Where MCP server registrations are kept, so they survive a restart. The Postgres adapter
 * implements it; the in-memory default keeps them for the life of the process.
 */
export interface RegistrationStore {
  list(): Promise<readonly McpServerConfig[]>;
  /** Inserts or replaces the registration with this name. */
  save(config: McpServerConfig): Promise<void>;
  /** Resolves true when a registration was removed. */
  remove(name: string): Promise<boolean>;
}

/** Keeps registrations in process memory. */
export function createInMemoryRegistrationStore(): RegistrationStore {
  const configs = new Map<string, McpServerConfig>();
  return {
    list: async () => structuredClone([...configs.values()]),
    save: async (config) => {
      configs.set(config.name, structuredClone(config));
    },
    remove: async (name) => configs.delete(name),
  };
}
