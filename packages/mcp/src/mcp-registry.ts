import { lookup as dnsLookup } from 'node:dns/promises';
import type { Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import {
  parseOptions,
  StewardError,
  type ToolCallContext,
  type ToolDefinition,
  type ToolProvider,
} from '@steward/core';
import { ArgumentValidator } from './argument-validator.ts';
import { createGuardedFetches } from './guarded-fetch.ts';
import { withLargeResults } from './large-results.ts';
import type { McpAuthorizations } from './oauth/mcp-authorizations.ts';
import { OAuthServers } from './oauth/oauth-servers.ts';
import { attachOAuth } from './oauth/oauth-wiring.ts';
import { storeRegistrationSecret, withoutSecrets } from './oauth/registration-secrets.ts';
import { type McpServerRegistration, parseRegistration, type ResolvedRegistration } from './registration.ts';
import { registrationRefused } from './registration-error.ts';
import { type LookupAll, RegistrationPolicy } from './registration-policy.ts';
import { createInMemoryRegistrationStore } from './registration-store.ts';
import { type McpRegistryOptions, optionsSchema } from './registry-options.ts';
import { type McpServerConfig, type ResolvedServerConfig, serverConfigSchema } from './server-config.ts';
import { type McpServerStatus, ServerConnection } from './server-connection.ts';
import type { FetchLike } from './service-auth.ts';
import { admitStoredRow } from './stored-registrations.ts';
import { toDefinition } from './tool-definition.ts';

export type { McpRegistryOptions };

/** MCP servers behind Steward's `ToolProvider` seam: pass the registry in `new Assistant({ tools })`. */
export interface McpRegistry extends ToolProvider, McpAuthorizations {
  /**
   * Registers a network server at run time: untrusted input, as `POST /api/v1/tools/register`
   * hands it over. It is checked (schema, then the `registrations` policy: origin, and every
   * address its host resolves to), stored and connected; resolves with its status after the first
   * attempt. Refusals reject with `invalid_input`, `details.issues[]` naming the field and
   * `RegistrationRefusal` code, and store nothing.
   */
  register(registration: McpServerRegistration): Promise<McpServerStatus>;
  unregister(name: string): Promise<boolean>;
  list(): readonly McpServerConfig[];
  status(): readonly McpServerStatus[];
  /** Resolves once every registered server had its first connection attempt. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

interface CatalogEntry {
  readonly connection: ServerConnection;
  readonly tool: McpTool;
  readonly definition: ToolDefinition;
}

const defaultLookup: LookupAll = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** The operator's servers, checked at creation: a mistake here is the operator's to fix at once. */
function parseOperatorServers(
  servers: readonly unknown[],
  hasSigner: boolean,
  hasOAuth: boolean,
): ResolvedServerConfig[] {
  const names = new Set<string>();
  return servers.map((server, index) => {
    const where = `createMcpRegistry: servers[${index}]`;
    const resolved = parseOptions(serverConfigSchema, server, where);
    if (names.has(resolved.name))
      throw new StewardError('invalid_options', `${where}: name: ${resolved.name} is listed twice`);
    names.add(resolved.name);
    if (resolved.transport !== 'stdio' && resolved.serviceAuth !== undefined && !hasSigner)
      throw new StewardError(
        'invalid_options',
        `${where}: serviceAuth: ${resolved.name} asks for service tokens, but the registry has no serviceAuth signer`,
      );
    if (resolved.transport !== 'stdio' && resolved.auth !== undefined && !hasOAuth)
      throw new StewardError(
        'invalid_options',
        `${where}: auth: ${resolved.name} uses OAuth, but the registry has no oauth settings (vault, redirectUrl)`,
      );
    return resolved;
  });
}

/**
 * Creates the MCP tool registry. Each server's tools are offered to the model as
 * `<server>__<tool>`; a tool counts as a side effect (and needs consent) unless the host lists it
 * in `readOnlyTools` or chose to trust the server's `readOnlyHint`.
 *
 * Trust enters in one place: the operator's `servers` (which may spawn commands) come from this
 * call. Everything later, `register()` and the rows of `store`, is a registration: a network
 * server the `registrations` policy allows, whose service tokens name its own origin.
 *
 * @example
 * ```ts
 * const registry = createMcpRegistry({
 *   servers: [{ name: 'gmail', transport: 'streamable-http', url: 'http://localhost:8931/mcp', readOnlyTools: ['GMAIL_FETCH_EMAILS'], serviceAuth: {} }],
 *   serviceAuth: { signer: createServiceTokenSigner({ issuer: 'steward', key: process.env.MCP_JWT_SECRET }) },
 *   registrations: { allowedOrigins: ['https://*.tools.example.com'] },
 * });
 * const assistant = new Assistant({ model, tools: [registry] });
 * ```
 */
export function createMcpRegistry(options: McpRegistryOptions = {}): McpRegistry {
  const config = parseOptions(optionsSchema, options, 'createMcpRegistry');
  const signer = config.serviceAuth?.signer;
  const operatorServers = parseOperatorServers(
    config.servers,
    signer !== undefined,
    config.oauth !== undefined,
  );
  const operatorNames = new Set(operatorServers.map((server) => server.name));
  const store = config.store ?? createInMemoryRegistrationStore();
  const policy = new RegistrationPolicy(config.registrations, config._internal?.lookup ?? defaultLookup);
  const guarded = createGuardedFetches(policy, config.fetch);
  const connections = new Map<string, ServerConnection>();
  const configs = new Map<string, McpServerConfig>();
  const validator = new ArgumentValidator();
  let catalog: Map<string, CatalogEntry> | undefined;
  const warn = (message: string, cause?: unknown) =>
    config.onWarning?.(new StewardError('internal_error', message, { cause }));
  const now = config._internal?.now ?? Date.now;
  const oauthServers = new OAuthServers(config.oauth, warn);

  // Each register/unregister of a name bumps its generation; work started for an older
  // generation gives way, so the last call for a name always decides what is connected.
  const generations = new Map<string, number>();
  const registering = new Map<string, { readonly key: string; readonly status: Promise<McpServerStatus> }>();
  const nextGeneration = (name: string) => {
    const generation = (generations.get(name) ?? 0) + 1;
    generations.set(name, generation);
    return generation;
  };

  /**
   * Connects one server. `fetch` is the operator's for the operator's servers and a guarded one
   * for registrations; `listed` is what `list()` shows (the configuration as given).
   */
  async function connectServer(
    resolved: ResolvedServerConfig,
    listed: McpServerConfig,
    fetch: FetchLike | undefined,
    generation: number,
    oauthFetch: FetchLike | undefined = fetch,
  ): Promise<McpServerStatus> {
    const options = {
      clientInfo: config.clientInfo,
      circuitBreaker: config.circuitBreaker,
      connectTimeoutMs: config.connectTimeoutMs,
      signer,
      onCatalogChange: () => {
        catalog = undefined;
      },
      warn,
      validator,
    };
    const previous = connections.get(resolved.name);
    connections.delete(resolved.name);
    await oauthServers.remove(resolved.name);
    configs.set(resolved.name, withoutSecrets(listed as McpServerConfig & { auth?: undefined }));
    catalog = undefined;
    await previous?.close();
    const attached = attachOAuth(resolved, {
      oauthServers,
      options,
      fetch: fetch ?? globalThis.fetch,
      oauthFetch: oauthFetch ?? globalThis.fetch,
      secretInVault: !operatorNames.has(resolved.name),
      clientName: config.oauth?.clientName ?? config.clientInfo.name,
      now,
    });
    if (attached.kind === 'per-user') return attached.status;
    const connection = new ServerConnection(resolved, { ...options, fetch: attached.fetch ?? fetch });
    connections.set(resolved.name, connection);
    await connection.start();
    if (generations.get(resolved.name) !== generation) await connection.close();
    return connection.status();
  }

  // A registration is typed network-only: no path from here reaches a spawned command.
  const connectRegistration = (registration: ResolvedRegistration, listed: unknown, generation: number) =>
    connectServer(
      registration,
      listed as McpServerConfig,
      guarded.fetchFor(new URL(registration.url).origin),
      generation,
      guarded.fetchFor(undefined),
    );

  const initial = (async () => {
    const rows = await store.list();
    const admitted = await Promise.all(
      rows.map((row) =>
        admitStoredRow(row, policy, operatorNames, warn).then((admission) => ({ row, admission })),
      ),
    );
    await Promise.all([
      ...operatorServers.map((server, index) =>
        connectServer(
          server,
          config.servers[index] as McpServerConfig,
          config.fetch,
          nextGeneration(server.name),
        ),
      ),
      ...admitted.map(({ row, admission }) => {
        if (admission.kind === 'registration')
          return connectRegistration(admission.registration, row, nextGeneration(admission.name));
        if (admission.kind === 'command')
          return connectServer(
            admission.config,
            row as McpServerConfig,
            config.fetch,
            nextGeneration(admission.name),
          );
        return undefined;
      }),
    ]);
  })();
  initial.catch((error: unknown) => warn('Loading MCP registrations failed', error));

  function currentCatalog(): Map<string, CatalogEntry> {
    if (catalog !== undefined) return catalog;
    const next = new Map<string, CatalogEntry>();
    for (const connection of connections.values()) {
      for (const tool of connection.tools) {
        const definition = toDefinition(connection.config, tool);
        next.set(definition.name, { connection, tool, definition });
      }
    }
    catalog = next;
    return next;
  }

  const registry: McpRegistry = {
    name: 'mcp',
    async listTools(context) {
      await initial.catch(() => {});
      const shared = [...currentCatalog().values()].map((entry) => entry.definition);
      return [...shared, ...(await oauthServers.listTools(context, toDefinition))];
    },
    async callTool(name: string, args: unknown, context: ToolCallContext) {
      const entry = currentCatalog().get(name);
      if (entry === undefined) {
        await initial.catch(() => {});
        const perUser = await oauthServers.callTool(name, args, context, validator);
        if (perUser !== undefined) return perUser.result;
        throw new StewardError(
          'tool_unavailable',
          `${name} is not offered by any connected MCP server right now`,
        );
      }
      validator.check(entry.tool.inputSchema, args, name);
      return entry.connection.callTool(entry.tool, args, context);
    },
    async register(input) {
      const registration = parseRegistration(input);
      const { name } = registration;
      if (operatorNames.has(name))
        throw registrationRefused(
          ['name'],
          'name_reserved',
          `${name} is a server of the operator's configuration`,
        );
      if (registration.serviceAuth !== undefined && signer === undefined)
        throw registrationRefused(
          ['serviceAuth'],
          'service_auth_unavailable',
          `${name} asks for service tokens, but the registry has no serviceAuth signer`,
        );
      if (registration.auth !== undefined && config.oauth === undefined)
        throw registrationRefused(
          ['auth'],
          'oauth_unavailable',
          `${name} uses OAuth, but the registry has no oauth settings (vault, redirectUrl)`,
        );
      // The same registration again while it is under way (another replica's sync reading the
      // row this call just stored) joins it: replacing it would close the connection the first
      // caller is about to report.
      const key = canonicalJson(registration);
      const underWay = registering.get(name);
      if (underWay?.key === key) return underWay.status;
      // Taken before the first await: a later register or unregister of the name wins.
      const generation = nextGeneration(name);
      const status = (async () => {
        await policy.check(registration.url);
        if (generations.get(name) !== generation) return closedStatus(registration);
        const stored =
          config.oauth === undefined ? input : await storeRegistrationSecret(config.oauth, input);
        await store.save(stored);
        return connectRegistration(registration, stored, generation);
      })();
      registering.set(name, { key, status });
      try {
        return await status;
      } finally {
        if (registering.get(name)?.status === status) registering.delete(name);
      }
    },
    async unregister(name) {
      nextGeneration(name);
      registering.delete(name);
      const connection = connections.get(name);
      connections.delete(name);
      const listed = configs.delete(name);
      catalog = undefined;
      await connection?.close();
      await oauthServers.remove(name);
      return (await store.remove(name)) || connection !== undefined || listed;
    },
    list: () => [...configs.values()],
    status: () => [
      ...[...connections.values()].map((connection) => connection.status()),
      ...oauthServers.status(),
    ],
    ready: () => initial.catch(() => {}),
    async close() {
      await initial.catch(() => {});
      await Promise.all([...connections.values()].map((connection) => connection.close()));
      connections.clear();
      catalog = undefined;
      await oauthServers.close();
      await guarded.close();
    },
    beginAuthorization: ({ signal: _signal, ...request }) => oauthServers.begin(request),
    completeAuthorization: ({ signal: _signal, ...request }) => oauthServers.complete(request),
    connections: (userId) => oauthServers.connections(userId),
    disconnect: (request) => oauthServers.disconnect(request),
  };
  return withLargeResults(registry, config.largeResults);
}

/** The status of a registration that a later call for its name overtook before it connected. */
function closedStatus(registration: ResolvedRegistration): McpServerStatus {
  return {
    name: registration.name,
    transport: registration.transport,
    state: 'closed',
    circuit: 'closed',
    tools: 0,
    catalogVersion: 0,
    reconnects: 0,
  };
}

/** JSON with every object's keys sorted: equal for equal registrations, however a store reordered them. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'object' && item !== null && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}
