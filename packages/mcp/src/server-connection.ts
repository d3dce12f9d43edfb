import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  ElicitRequestSchema,
  type Tool as McpTool,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { isStewardError, StewardError, type ToolCallContext } from '@steward/core';
import pRetry from 'p-retry';
import type { ArgumentValidator } from './argument-validator.ts';
import { CallDeadline } from './call-deadline.ts';
import { CircuitBreaker, type CircuitBreakerOptions, type CircuitState } from './circuit-breaker.ts';
import { CallRouter, createElicitationHandler } from './elicitation.ts';
import { closeClient, type OpenedClient, openClient, serviceAudience } from './open-client.ts';
import type { ResolvedServerConfig } from './server-config.ts';
import type { FetchLike } from './service-auth.ts';
import type { ServiceTokenSigner } from './service-token-signer.ts';
import { callAborted, isSessionExpired, isTransient, toToolError } from './tool-errors.ts';
import { toToolOutput } from './tool-result.ts';
import { traceMcpRequest } from './tracing.ts';

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
  /** Signs the service tokens of servers registered with `serviceAuth`. */
  readonly signer: ServiceTokenSigner | undefined;
  /** The fetch of HTTP transports; the global one when undefined. */
  readonly fetch: FetchLike | undefined;
  readonly onCatalogChange: () => void;
  readonly warn: (message: string, cause?: unknown) => void;
  /** Checks the user's answers to the server's elicitations against their forms. */
  readonly validator: ArgumentValidator;
}

const maxPages = 1_000;
/** The longest delay `setTimeout` holds. */
const maxTimerMs = 2_147_483_647;

/**
 * @internal One MCP server: its client, its tool catalog and its health. A lost connection (a
 * crashed stdio server, an expired session) is restored by one reconnect loop with backoff, never
 * two at once, until the connection is closed. Tools are offered only while connected.
 */
export class ServerConnection {
  readonly config: ResolvedServerConfig;
  readonly #options: ConnectionOptions;
  readonly #breaker: CircuitBreaker;
  readonly #closed = new AbortController();
  /** Which call a server's elicitation belongs to. */
  readonly #calls = new CallRouter();
  #opened: OpenedClient | undefined;
  #reconnecting: Promise<void> | undefined;
  #attempt: Promise<void> | undefined;
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

  /** Connects; on failure keeps trying in the background. Resolves after the first attempt. */
  async start(): Promise<void> {
    try {
      await this.#connect();
    } catch {
      void this.#reconnect();
    }
  }

  /**
   * Connects once and throws on failure, with no background retries: a per-user session opens
   * on demand, and a user who must authorize first is told so instead of retried.
   */
  async connectNow(): Promise<void> {
    await this.#connect();
  }

  get state(): McpConnectionState {
    if (this.#closed.signal.aborted) return 'closed';
    if (this.#opened !== undefined) return 'connected';
    return this.#everConnected ? 'reconnecting' : 'connecting';
  }

  get tools(): readonly McpTool[] {
    return this.#opened === undefined ? [] : this.#tools;
  }

  status(): McpServerStatus {
    return {
      name: this.config.name,
      transport: this.#opened?.kind ?? this.config.transport,
      state: this.state,
      circuit: this.#breaker.state,
      tools: this.#tools.length,
      catalogVersion: this.#catalogVersion,
      reconnects: this.#reconnects,
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError }),
    };
  }

  callTool(tool: McpTool, args: unknown, context: ToolCallContext): Promise<unknown> {
    return traceMcpRequest(this.config, 'tools/call', tool.name, () => this.#callTool(tool, args, context));
  }

  async #callTool(tool: McpTool, args: unknown, context: ToolCallContext): Promise<unknown> {
    const server = this.config.name;
    if (this.#opened === undefined) {
      throw new StewardError('tool_unavailable', `${server}/${tool.name}: the server is ${this.state}`);
    }
    if (!this.#breaker.tryAcquire()) {
      throw new StewardError(
        'tool_unavailable',
        `${server}/${tool.name}: the circuit breaker is open after repeated failures`,
      );
    }
    // Hints are the server's word; only the host's trust makes a repeat safe.
    const { readOnlyTools, trustReadOnlyHints } = this.config;
    const safeToRetry =
      readOnlyTools.includes(tool.name) ||
      (trustReadOnlyHints &&
        (tool.annotations?.readOnlyHint === true || tool.annotations?.idempotentHint === true));
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
      // The caller stopped waiting: its reason, and nothing about the server's health.
      if (context.signal.aborted) {
        this.#breaker.abandon();
        throw callAborted(context.signal.reason, `${server}/${tool.name}`);
      }
      // The server answering "invalid arguments" is the model's fault, not the server's health.
      const mapped = toToolError(error, server, tool.name, serviceAudience(this.config));
      this.#breaker.record(mapped.code === 'tool_unavailable' || mapped.code === 'tool_timeout');
      throw mapped;
    }
  }

  async close(): Promise<void> {
    this.#closed.abort();
    const opened = this.#opened;
    this.#opened = undefined;
    if (opened !== undefined) await closeClient(opened);
  }

  async #callOnce(tool: McpTool, args: unknown, context: ToolCallContext) {
    const request = async (opened: OpenedClient) => {
      // The call's timeout is kept here: it stops while the server waits for the user's answer.
      const deadline = new CallDeadline(this.config.callTimeoutMs, this.config.callTimeoutMs * 10);
      const call = { context, tool: tool.name, holdTimeout: () => deadline.hold() };
      try {
        return await this.#calls.run(call, () =>
          opened.client.callTool({ name: tool.name, arguments: args as Record<string, unknown> }, undefined, {
            signal: AbortSignal.any([context.signal, deadline.signal]),
            // Longer than any deadline: the SDK's own timer cannot pause, so it never decides.
            timeout: maxTimerMs,
            onprogress: ({ progress, total, message }) => {
              deadline.progress();
              context.reportProgress({
                progress,
                ...(total === undefined ? {} : { total }),
                ...(message === undefined ? {} : { message }),
              });
            },
          }),
        );
      } finally {
        deadline.clear();
      }
    };
    const opened = this.#opened;
    if (opened === undefined)
      throw new StewardError('tool_unavailable', `${this.config.name}: not connected`);
    try {
      return await request(opened);
    } catch (error) {
      if (!isSessionExpired(error)) throw error;
      // The server dropped our session (restart, expiry): it never ran the call. Start a new
      // session (one attempt, shared by every call that saw the 404) and send it once more.
      this.#options.warn(`${this.config.name}: the MCP session expired; reconnecting`, error);
      this.#lost(opened);
      await this.#reconnectOnce().catch(() => {});
      const fresh = this.#opened;
      if (fresh === undefined) {
        throw new StewardError('tool_unavailable', `${this.config.name}: reconnecting failed`, {
          cause: error,
        });
      }
      return await request(fresh);
    }
  }

  /** Forgets `opened` if it is still the current client, and closes it. */
  #lost(opened: OpenedClient): void {
    if (this.#opened !== opened) return;
    this.#opened = undefined;
    this.#options.onCatalogChange();
    void closeClient(opened);
  }

  /**
   * One immediate reconnect attempt, shared by every call that needs it; when it fails, the
   * background loop takes over and the callers get `tool_unavailable` at once.
   */
  #reconnectOnce(): Promise<void> {
    if (this.#opened !== undefined || this.#closed.signal.aborted) return Promise.resolve();
    if (this.#reconnecting !== undefined) return Promise.reject(new Error('reconnecting in the background'));
    this.#attempt ??= this.#connect()
      .then(() => {
        this.#reconnects++;
      })
      .catch((error: unknown) => {
        void this.#reconnect();
        throw error;
      })
      .finally(() => {
        this.#attempt = undefined;
      });
    return this.#attempt;
  }

  /** The one background reconnect loop, with backoff; it ends when connected or closed. */
  #reconnect(): Promise<void> {
    if (this.#closed.signal.aborted || this.#opened !== undefined) return Promise.resolve();
    this.#reconnecting ??= pRetry(
      async () => {
        await this.#connect();
        this.#reconnects++;
      },
      {
        retries: Number.POSITIVE_INFINITY,
        minTimeout: 250,
        maxTimeout: 30_000,
        randomize: true,
        signal: this.#closed.signal,
        // A registration the registry cannot serve (no signer for its serviceAuth) stays down.
        // Neither does a session whose user must authorize again: only the user can fix it.
        shouldRetry: ({ error }) =>
          !isStewardError(error, 'invalid_options') && !isStewardError(error, 'authorization_required'),
        onFailedAttempt: ({ error, retryDelay }) =>
          this.#options.warn(`${this.config.name}: connecting failed; next try in ${retryDelay} ms`, error),
      },
    )
      .catch(() => {})
      .finally(() => {
        this.#reconnecting = undefined;
      });
    return this.#reconnecting;
  }

  async #connect(): Promise<void> {
    if (this.#closed.signal.aborted) return;
    let opened: OpenedClient | undefined;
    try {
      opened = await this.#calls.outside(() =>
        openClient(
          this.config,
          this.#options.clientInfo,
          (client) => this.#attach(client),
          this.#options.connectTimeoutMs,
          { signer: this.#options.signer, fetch: this.#options.fetch },
        ),
      );
      const tools = await this.#listAll(opened.client);
      if (this.#closed.signal.aborted) {
        await closeClient(opened);
        return;
      }
      this.#tools = tools;
      this.#catalogVersion++;
      this.#opened = opened;
      this.#everConnected = true;
      this.#lastError = undefined;
      this.#options.onCatalogChange();
    } catch (error) {
      // A client that connected but could not list is closed here, or its process leaks.
      if (opened !== undefined) await closeClient(opened);
      this.#lastError = error instanceof Error ? error.message : String(error);
      throw error;
    }
  }

  #attach(client: Client): void {
    client.setRequestHandler(
      ElicitRequestSchema,
      createElicitationHandler({
        server: this.config.name,
        router: this.#calls,
        validator: this.#options.validator,
        warn: this.#options.warn,
      }),
    );
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      try {
        const tools = await this.#listAll(client);
        if (this.#opened?.client !== client) return;
        this.#tools = tools;
        this.#catalogVersion++;
        this.#options.onCatalogChange();
      } catch (error) {
        this.#options.warn(`${this.config.name}: re-listing tools failed`, error);
      }
    });
    client.onerror = (error) => this.#options.warn(`${this.config.name}: transport error`, error);
    client.onclose = () => {
      const opened = this.#opened;
      if (opened?.client !== client || this.#closed.signal.aborted) return;
      this.#options.warn(`${this.config.name}: the connection closed; reconnecting`);
      this.#lost(opened);
      void this.#reconnect();
    };
  }

  /** Lists every page of the catalog, following `nextCursor` to the end. */
  #listAll(client: Client): Promise<McpTool[]> {
    return traceMcpRequest(this.config, 'tools/list', undefined, () => this.#listPages(client));
  }

  async #listPages(client: Client): Promise<McpTool[]> {
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
    return tools;
  }
}
