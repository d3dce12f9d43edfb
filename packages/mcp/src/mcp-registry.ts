import type { Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import {
  parseOptions,
  StewardError,
  type ToolCallContext,
  type ToolDefinition,
  type ToolProvider,
} from '@steward/core';
import { z } from 'zod';
import { ArgumentValidator } from './argument-validator.ts';
import type { BlobStore } from './blob-store.ts';
import { type LargeResultOptions, withLargeResults } from './large-results.ts';
import { createInMemoryRegistrationStore, type RegistrationStore } from './registration-store.ts';
import { type McpServerConfig, serverConfigSchema } from './server-config.ts';
import { type McpServerStatus, ServerConnection } from './server-connection.ts';
import { type FetchLike, signerSchema } from './service-auth.ts';
import type { ServiceTokenSigner } from './service-token-signer.ts';
import { modelToolName } from './tool-names.ts';

const optionsSchema = z
  .object({
    servers: z.array(z.unknown()).default([]),
    store: z
      .custom<RegistrationStore>((value) => typeof (value as RegistrationStore)?.list === 'function')
      .optional(),
    clientInfo: z
      .object({ name: z.string(), version: z.string() })
      .default({ name: 'steward', version: '0.0.0' }),
    connectTimeoutMs: z.number().int().positive().default(15_000),
    circuitBreaker: z
      .object({
        windowMs: z.number().int().positive().default(60_000),
        minimumCalls: z.number().int().positive().default(5),
        failureRate: z.number().gt(0).max(1).default(0.5),
        coolDownMs: z.number().int().positive().default(30_000),
      })
      .default({ windowMs: 60_000, minimumCalls: 5, failureRate: 0.5, coolDownMs: 30_000 }),
    serviceAuth: z.object({ signer: signerSchema }).strict().optional(),
    fetch: z.custom<FetchLike>((value) => typeof value === 'function', 'must be a function').optional(),
    onWarning: z.custom<(warning: StewardError) => void>((value) => typeof value === 'function').optional(),
    largeResults: z
      .object({
        store: z.custom<BlobStore>(
          (value) => typeof (value as BlobStore)?.put === 'function',
          'must be a BlobStore',
        ),
        thresholdChars: z.number().int().positive().optional(),
        previewChars: z.number().int().positive().optional(),
      })
      .optional(),
  })
  .strict();

/** Options of {@link createMcpRegistry}. */
export interface McpRegistryOptions {
  /** Servers to connect at start, besides those already in `store`. */
  servers?: readonly McpServerConfig[];
  /** Keeps registrations across restarts. Default: in memory. */
  store?: RegistrationStore;
  /** How Steward introduces itself to servers. */
  clientInfo?: { name: string; version: string };
  /** Initialize and list timeout. Default 15,000 ms. */
  connectTimeoutMs?: number;
  /** Per-server circuit breaker. */
  circuitBreaker?: { windowMs?: number; minimumCalls?: number; failureRate?: number; coolDownMs?: number };
  /**
   * Signs the service JWTs sent to HTTP servers registered with `serviceAuth` (each with its own
   * audience). The signer lives here, not in the registration, because registrations are stored
   * as plain data: a registry created over the same store with a signer restores their auth.
   */
  serviceAuth?: { signer: ServiceTokenSigner };
  /**
   * The fetch every HTTP server's transport uses (service tokens are added on top), e.g. one with
   * an undici `Agent` holding a client certificate for mTLS. Default: the global `fetch`.
   */
  fetch?: (url: string | URL, init?: RequestInit) => Promise<Response>;
  /** Reconnections, failed re-listings and the like. */
  onWarning?: (warning: StewardError) => void;
  /**
   * Results above `thresholdChars` go to `store`; the model gets a preview and a reference it
   * reads with the `steward__read_result` tool, which the registry then offers.
   */
  largeResults?: LargeResultOptions;
}

/** MCP servers behind Steward's `ToolProvider` seam: pass the registry in `new Assistant({ tools })`. */
export interface McpRegistry extends ToolProvider {
  /** Validates, stores and connects a server; resolves with its status after the first attempt. */
  register(config: McpServerConfig): Promise<McpServerStatus>;
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

/**
 * Creates the MCP tool registry. Each server's tools are offered to the model as
 * `<server>__<tool>`; a tool counts as a side effect (and needs consent) unless the host lists it
 * in `readOnlyTools` or chose to trust the server's `readOnlyHint`.
 *
 * @example
 * ```ts
 * const registry = createMcpRegistry({
 *   servers: [{ name: 'gmail', transport: 'streamable-http', url: 'http://localhost:8931/mcp', readOnlyTools: ['GMAIL_FETCH_EMAILS'], serviceAuth: {} }],
 *   serviceAuth: { signer: createServiceTokenSigner({ issuer: 'steward', key: process.env.MCP_JWT_SECRET }) },
 * });
 * const assistant = new Assistant({ model, tools: [registry] });
 * ```
 */
export function createMcpRegistry(options: McpRegistryOptions = {}): McpRegistry {
  const config = parseOptions(optionsSchema, options, 'createMcpRegistry');
  const store = config.store ?? createInMemoryRegistrationStore();
  const connections = new Map<string, ServerConnection>();
  const configs = new Map<string, McpServerConfig>();
  const validator = new ArgumentValidator();
  let catalog: Map<string, CatalogEntry> | undefined;
  const warn = (message: string, cause?: unknown) =>
    config.onWarning?.(new StewardError('internal_error', message, { cause }));

  const parseServer = (value: unknown) =>
    parseOptions(serverConfigSchema, value, 'MCP server registration', 'invalid_input');
  const signer = config.serviceAuth?.signer;
  // A new registration is refused when its auth cannot be served; a stored one is still loaded,
  // and its status says what is missing.
  const parseNewServer = (value: unknown) => {
    const resolved = parseServer(value);
    if (resolved.transport !== 'stdio' && resolved.serviceAuth !== undefined && signer === undefined) {
      throw new StewardError(
        'invalid_input',
        `MCP server registration: ${resolved.name} asks for serviceAuth, but the registry has no serviceAuth signer`,
      );
    }
    return resolved;
  };

  // Each register/unregister of a name bumps its generation; work started for an older
  // generation gives way, so the last call for a name always decides what is connected.
  const generations = new Map<string, number>();
  const nextGeneration = (name: string) => {
    const generation = (generations.get(name) ?? 0) + 1;
    generations.set(name, generation);
    return generation;
  };

  async function connectServer(input: McpServerConfig, generation: number): Promise<McpServerStatus> {
    const resolved = parseServer(input);
    const connection = new ServerConnection(resolved, {
      clientInfo: config.clientInfo,
      circuitBreaker: config.circuitBreaker,
      connectTimeoutMs: config.connectTimeoutMs,
      signer,
      fetch: config.fetch,
      onCatalogChange: () => {
        catalog = undefined;
      },
      warn,
    });
    const previous = connections.get(resolved.name);
    connections.set(resolved.name, connection);
    configs.set(resolved.name, input);
    catalog = undefined;
    await previous?.close();
    await connection.start();
    if (generations.get(resolved.name) !== generation) await connection.close();
    return connection.status();
  }

  const initial = (async () => {
    const stored = await store.list();
    const names = new Set(stored.map((server) => server.name));
    const fresh = (config.servers as McpServerConfig[]).filter((server) => !names.has(server.name));
    for (const server of fresh) parseNewServer(server);
    await Promise.all(
      [...stored, ...fresh].map((server) => connectServer(server, nextGeneration(server.name))),
    );
    for (const server of fresh) await store.save(server);
  })();
  initial.catch((error: unknown) => warn('Loading MCP registrations failed', error));

  function currentCatalog(): Map<string, CatalogEntry> {
    if (catalog !== undefined) return catalog;
    const next = new Map<string, CatalogEntry>();
    for (const connection of connections.values()) {
      const { name: server, readOnlyTools, trustReadOnlyHints } = connection.config;
      for (const tool of connection.tools) {
        const readOnly =
          readOnlyTools.includes(tool.name) ||
          (trustReadOnlyHints && tool.annotations?.readOnlyHint === true);
        const definition: ToolDefinition = {
          name: modelToolName(server, tool.name),
          description: tool.description ?? tool.title ?? tool.name,
          inputSchema: tool.inputSchema,
          sideEffect: !readOnly,
          ...(tool.annotations === undefined ? {} : { annotations: tool.annotations }),
        };
        next.set(definition.name, { connection, tool, definition });
      }
    }
    catalog = next;
    return next;
  }

  const registry: McpRegistry = {
    name: 'mcp',
    async listTools() {
      await initial.catch(() => {});
      return [...currentCatalog().values()].map((entry) => entry.definition);
    },
    async callTool(name: string, args: unknown, context: ToolCallContext) {
      const entry = currentCatalog().get(name);
      if (entry === undefined) {
        throw new StewardError(
          'tool_unavailable',
          `${name} is not offered by any connected MCP server right now`,
        );
      }
      validator.check(entry.tool.inputSchema, args, name);
      return entry.connection.callTool(entry.tool, args, context);
    },
    async register(server) {
      const resolved = parseNewServer(server);
      const generation = nextGeneration(resolved.name);
      await store.save(server);
      return connectServer(server, generation);
    },
    async unregister(name) {
      nextGeneration(name);
      const connection = connections.get(name);
      connections.delete(name);
      configs.delete(name);
      catalog = undefined;
      await connection?.close();
      return (await store.remove(name)) || connection !== undefined;
    },
    list: () => [...configs.values()],
    status: () => [...connections.values()].map((connection) => connection.status()),
    ready: () => initial.catch(() => {}),
    async close() {
      await initial.catch(() => {});
      await Promise.all([...connections.values()].map((connection) => connection.close()));
      connections.clear();
      catalog = undefined;
    },
  };
  return withLargeResults(registry, config.largeResults);
}
