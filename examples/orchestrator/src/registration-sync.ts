import type { McpRegistry, McpServerRegistration, RegistrationStore } from '@steward/mcp';
import type { Logger } from './logger.ts';
import { canonicalJson } from './mcp-servers.ts';

/**
 * A registry reads its store once, at start, so a server registered through another replica's
 * `POST /api/v1/tools/register` would reach this one only at its next restart. Every
 * `intervalMs` this compares the store with what the registry holds and registers what is new
 * or changed. (Servers are never removed here: the API has no unregister endpoint.)
 *
 * Rows go through `registry.register()`, the same gate as the API: a row that is not a
 * registration the allowlists accept (a stdio command, a chosen audience, an origin not
 * allowed) is refused, logged once as `mcp_registration_refused`, and left in the database.
 * Rows named like a server of STEWARD_MCP_SERVERS are the operator's and are skipped.
 */
export function startRegistrationSync(
  registry: McpRegistry,
  store: RegistrationStore,
  options: { intervalMs: number; declared: ReadonlySet<string>; logger: Logger },
): () => void {
  let busy = false;
  const refused = new Set<string>();
  const sync = async () => {
    const held = new Map(registry.list().map((config) => [config.name, canonicalJson(config)]));
    for (const row of await store.list()) {
      const name = (row as { name?: unknown }).name;
      if (typeof name !== 'string' || options.declared.has(name)) continue;
      const key = canonicalJson(row);
      if (held.get(name) === key || refused.has(key)) continue;
      try {
        const status = await registry.register(row as McpServerRegistration);
        options.logger.info('mcp_server_synced', { server: name, state: status.state });
      } catch (error) {
        refused.add(key);
        options.logger.warn('mcp_registration_refused', { server: name, error });
      }
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
