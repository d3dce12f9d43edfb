import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type Tool as McpTool, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { StewardError, type ToolCallContext } from '@steward/core';
import pRetry from 'p-retry';
import { CircuitBreaker, type CircuitBreakerOptions, type CircuitState } from './circuit-breaker.ts';
import { type OpenedClient, openClient } from './open-client.ts';
import type { ResolvedServerConfig } from './server-config.ts';
import { isSessionExpired, isTransient, toToolError } from './tool-errors.ts';
import { toToolOutput } from './tool-result.ts';

/** `connecting`: first attempt. `connected`: calls go out. `reconnecting`: it dropped and is being restored. `closed`: unregistered. */
export type McpConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** What `registry.status()` reports for one server. */
export interface McpServerStatus {
  readonly name: string;
  readonly transport: 'streamable-http' | 'sse' | 'stdio';
  readonly state: McpConnectionState;
  readonly circuit: CircuitState;
  readonly tools: number;
  /** Rises each time the server's tool catalog was listed anew. */
  readonly catalogVersion: number;
  /** Reconnections after the first connection. */
  readonly reconnects: number;
  readonly lastError?: string;
}

/** @internal */
export interface ConnectionOptions {
  readonly clientInfo: { name: string; version: string };
  readonly circuitBreaker: CircuitBreakerOptions;
  readonly connectTimeoutMs: number;
  readonly onCatalogChange: () => void;
  readonly warn: (message: string, cause?: unknown) => void;
}

const maxPages = 1_000;

/**
 * @internal One MCP server: its client, its tool catalog and its health. It reconnects by itself
 * with backoff (a crashed stdio server is restarted) until closed.
 */
export class ServerConnection {
  readonly config: ResolvedServerConfig;
  readonly #options: ConnectionOptions;
  readonly #breaker: CircuitBreaker;
  readonly #closed = new AbortController();
  #opened: OpenedClient | undefined;
  #state: McpConnectionState = 'connecting';
  #tools: readonly McpTool[] = [];
  #catalogVersion = 0;
  #reconnects = 0;
  #everConnected = false;
  #lastError: string | undefined;

  constructor(config: ResolvedServerConfig, options: ConnectionOptions) {
    this.config = config;
    this.#options = options;
    this.#breaker = new CircuitBreaker(options.circuitBreaker);
  }

  /** Connects, retrying with backoff in the background; resolves after the first attempt either way. */
  start(): Promise<void> {
    const first = this.#connect();
    first.catch(() => this.#reconnectLoop());
    return first.catch(() => {});
  }

  get tools(): readonly McpTool[] {
    return this.#state === 'connected' ? this.#tools : [];
  }

  status(): McpServerStatus {
    return {
      name: this.config.name,
      transport: this.#opened?.transport ?? this.config.transport,
      state: this.#state,
      circuit: this.#breaker.state,
      tools: this.#tools.length,
      catalogVersion: this.#catalogVersion,
      reconnects: this.#reconnects,
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError }),
    };
  }

  async callTool(tool: McpTool, args: unknown, context: ToolCallContext): Promise<unknown> {
    const server = this.config.name;
    if (this.#state !== 'connected' || this.#opened === undefined) {
      throw new StewardError('tool_unavailable', `${server}/${tool.name}: the server is ${this.#state}`);
    }
    if (!this.#breaker.tryAcquire()) {
      throw new StewardError(
        'tool_unavailable',
        `${server}/${tool.name}: the circuit breaker is open after repeated failures`,
      );
    }
    const safeToRetry = tool.annotations?.readOnlyHint === true || tool.annotations?.idempotentHint === true;
    const once = () => this.#callOnce(tool, args, context);
    try {
      const result = safeToRetry
        ? await pRetry(once, {
            retries: 2,
            minTimeout: 200,
            maxTimeout: 2_000,
            randomize: true,
            signal: context.signal,
            shouldRetry: ({ error }) => isTransient(error) && !context.signal.aborted,
          })
        : await once();
      this.#breaker.record(false);
      return toToolOutput(result, server, tool.name);
    } catch (error) {
      // The server answering "invalid arguments" is the model's fault, not the server's health.
      const mapped = toToolError(error, server, tool.name);
      this.#breaker.record(mapped.code === 'tool_unavailable' || mapped.code === 'tool_timeout');
      throw mapped;
    }
  }

  async close(): Promise<void> {
    this.#state = 'closed';
    this.#closed.abort();
    const opened = this.#opened;
    this.#opened = undefined;
    await opened?.client.close().catch(() => {});
  }

  async #callOnce(tool: McpTool, args: unknown, context: ToolCallContext) {
    const request = () => {
      const client = this.#opened?.client;
      if (client === undefined)
        throw new StewardError('tool_unavailable', `${this.config.name}: not connected`);
      return client.callTool({ name: tool.name, arguments: args as Record<string, unknown> }, undefined, {
        signal: context.signal,
        timeout: this.config.callTimeoutMs,
        resetTimeoutOnProgress: true,
        onprogress: ({ progress, total, message }) =>
          context.reportProgress({
            progress,
            ...(total === undefined ? {} : { total }),
            ...(message === undefined ? {} : { message }),
          }),
      });
    };
    try {
      return await request();
    } catch (error) {
      if (!isSessionExpired(error)) throw error;
      // The server dropped our session (restart, expiry): it never ran the call. Start a new
      // session and send it once more.
      this.#options.warn(`${this.config.name}: the MCP session expired; reconnecting`, error);
      await this.#replaceClient();
      return await request();
    }
  }

  async #connect(): Promise<void> {
    if (this.#closed.signal.aborted) return;
    try {
      const opened = await openClient(
        this.config,
        this.#options.clientInfo,
        (client) => this.#attach(client),
        this.#options.connectTimeoutMs,
      );
      if (this.#closed.signal.aborted) {
        await opened.client.close().catch(() => {});
        return;
      }
      this.#opened = opened;
      await this.#refreshCatalog(opened.client);
      this.#state = 'connected';
      this.#everConnected = true;
      this.#lastError = undefined;
      this.#options.onCatalogChange();
    } catch (error) {
      this.#lastError = error instanceof Error ? error.message : String(error);
      throw error;
    }
  }

  #attach(client: Client): void {
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      this.#refreshCatalog(client)
        .then(() => this.#options.onCatalogChange())
        .catch((error: unknown) => this.#options.warn(`${this.config.name}: re-listing tools failed`, error));
    });
    client.onclose = () => {
      if (this.#opened?.client !== client || this.#closed.signal.aborted) return;
      this.#opened = undefined;
      this.#state = 'reconnecting';
      this.#options.onCatalogChange();
      this.#options.warn(`${this.config.name}: the connection closed; reconnecting`);
      void this.#reconnectLoop();
    };
  }

  async #replaceClient(): Promise<void> {
    const old = this.#opened;
    this.#opened = undefined;
    this.#state = 'reconnecting';
    await old?.client.close().catch(() => {});
    await this.#connect();
    this.#reconnects++;
  }

  async #reconnectLoop(): Promise<void> {
    await pRetry(
      async () => {
        const wasConnected = this.#everConnected;
        await this.#connect();
        if (wasConnected) this.#reconnects++;
      },
      {
        retries: Number.POSITIVE_INFINITY,
        minTimeout: 250,
        maxTimeout: 30_000,
        randomize: true,
        signal: this.#closed.signal,
        onFailedAttempt: ({ error, retryDelay }) =>
          this.#options.warn(`${this.config.name}: connecting failed; next try in ${retryDelay} ms`, error),
      },
    ).catch(() => {});
  }

  /** Lists every page of the catalog, following `nextCursor` to the end. */
  async #refreshCatalog(client: Client): Promise<void> {
    const tools: McpTool[] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const result = await client.listTools(cursor === undefined ? undefined : { cursor }, {
        timeout: this.#options.connectTimeoutMs,
      });
      tools.push(...result.tools);
      cursor = result.nextCursor;
      if (cursor === undefined || seen.has(cursor)) break;
      seen.add(cursor);
    }
    this.#tools = tools;
    this.#catalogVersion++;
  }
}
