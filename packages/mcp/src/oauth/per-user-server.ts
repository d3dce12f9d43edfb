import type { Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import { LRUCache } from 'lru-cache';
import type { ResolvedServerConfig } from '../server-config.ts';
import { type ConnectionOptions, ServerConnection } from '../server-connection.ts';
import type { FetchLike } from '../service-auth.ts';
import { createBearerFetch } from './bearer-fetch.ts';
import type { ServerOAuth } from './server-oauth.ts';
import { TokenKeeper } from './token-keeper.ts';

/** Per-user sessions kept open at once per server; the least recently used closes first. */
const maxSessions = 1_000;

/**
 * @internal A server each user connects to with their own token: one MCP session per user,
 * opened on first use (listing or calling), through a fetch that carries that user's token. The
 * catalog last listed by any user is remembered, to show users who have not connected yet.
 */
export class PerUserServer {
  readonly config: ResolvedServerConfig;
  readonly target: ServerOAuth;
  readonly keeper: TokenKeeper;
  readonly #options: Omit<ConnectionOptions, 'fetch'>;
  readonly #base: FetchLike;
  readonly #sessions: LRUCache<string, Promise<ServerConnection>>;
  #lastTools: readonly McpTool[] | undefined;

  constructor(
    config: ResolvedServerConfig,
    target: ServerOAuth,
    options: Omit<ConnectionOptions, 'fetch'>,
    base: FetchLike,
  ) {
    this.config = config;
    this.target = target;
    this.keeper = new TokenKeeper(target);
    this.#options = options;
    this.#base = base;
    this.#sessions = new LRUCache({
      max: maxSessions,
      dispose: (session) => {
        void session.then((connection) => connection.close()).catch(() => {});
      },
    });
  }

  /** What users who have not connected see in `connect` mode: the last catalog anyone listed. */
  get lastTools(): readonly McpTool[] | undefined {
    return this.#lastTools;
  }

  /**
   * The user's connected session, opened when needed. Rejects with the internal
   * `authorization_required` (see `authorization-needed.ts`) when the user has no usable token,
   * without a request to the server when there is none at all.
   */
  async session(userId: string): Promise<ServerConnection> {
    const existing = this.#sessions.get(userId);
    if (existing !== undefined) {
      const connection = await existing;
      if (connection.state === 'connected') return connection;
      // Dropped, and its reconnecting stopped on authorization or goes on in the background:
      // this call opens a fresh one.
      if (this.#sessions.peek(userId) === existing) this.#sessions.delete(userId);
    }
    await this.keeper.usable(userId);
    const opening = this.#open(userId);
    this.#sessions.set(userId, opening);
    opening.catch(() => {
      if (this.#sessions.peek(userId) === opening) this.#sessions.delete(userId);
    });
    return opening;
  }

  async #open(userId: string): Promise<ServerConnection> {
    let connection: ServerConnection | undefined;
    connection = new ServerConnection(this.config, {
      ...this.#options,
      fetch: createBearerFetch(this.target, this.keeper, userId, this.#base),
      onCatalogChange: () => {
        if (connection?.state === 'connected') this.#lastTools = connection.tools;
        this.#options.onCatalogChange();
      },
    });
    try {
      await connection.connectNow();
    } catch (error) {
      await connection.close();
      throw error;
    }
    this.#lastTools = connection.tools;
    return connection;
  }

  /** Closes the user's session, if open (after a disconnect, or new tokens). */
  async drop(userId: string): Promise<void> {
    const existing = this.#sessions.peek(userId);
    if (existing === undefined) return;
    this.#sessions.delete(userId); // dispose closes it
    await existing.catch(() => undefined);
  }

  async close(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(
      sessions.map((session) => session.then((connection) => connection.close()).catch(() => {})),
    );
  }
}
