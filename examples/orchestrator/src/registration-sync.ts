import type { McpRegistry, McpServerConfig, RegistrationStore } from '@steward/mcp';
import type { Logger } from './logger.ts';
import { canonicalJson } from './mcp-servers.ts';

/**
 * A registry reads its store once, at start, so a server registered through another replica's
 * `POST /api/v1/tools/register` would reach this one only at its next restart. Every
 * `intervalMs` this compares the store with what the registry holds and registers what is new
 * or changed. (Servers are never removed here: the API has no unregister endpoint.)
 */
export function startRegistrationSync(
  registry: McpRegistry,
  store: RegistrationStore,
  options: { intervalMs: number; logger: Logger },
): () => void {
  let busy = false;
  const sync = async () => {
    const held = new Map(registry.list().map((config) => [config.name, canonicalJson(config)]));
    for (const config of await store.list()) {
      if (held.get(config.name) === canonicalJson(config)) continue;
      const status = await registry.register(config as McpServerConfig);
      options.logger.info('mcp_server_synced', { server: config.name, state: status.state });
    }
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    sync()
      .catch((error: unknown) => options.logger.warn('mcp_sync_failed', { error }))
      .finally(() => {
        busy = false;
      });
  }, options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
