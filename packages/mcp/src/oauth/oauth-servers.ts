import type { Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import { StewardError, type ToolCallContext, type ToolDefinition, type ToolListContext } from '@steward/core';
import type { ArgumentValidator } from '../argument-validator.ts';
import type { ResolvedServerConfig } from '../server-config.ts';
import type { ConnectionOptions, McpServerStatus } from '../server-connection.ts';
import type { FetchLike } from '../service-auth.ts';
import { modelToolName } from '../tool-names.ts';
import {
  beginAuthorization,
  callbackError,
  claimPending,
  exchangeCode,
  type McpAuthorizationResult,
  type McpAuthorizationStart,
} from './authorization-flow.ts';
import { neededChallenge } from './authorization-needed.ts';
import type { ResolvedOAuthOptions } from './oauth-options.ts';
import type { PerUserServer } from './per-user-server.ts';
import { revokeTokens } from './revoke.ts';
import { readTokens, tokensRef } from './vault-oauth-provider.ts';
import { scopeList } from './vault-records.ts';

/** One user's connection to one OAuth server, as `registry.connections()` lists it. */
export interface McpConnection {
  readonly server: string;
  /** `expired`: tokens were held but can no longer be renewed; connecting again fixes it. */
  readonly status: 'connected' | 'not_connected' | 'expired';
  readonly scopes?: readonly string[];
  /** ISO 8601. */
  readonly connectedAt?: string;
}

/** @internal The name of the tool offered to a user who has not connected a server yet. */
export const connectToolName = (server: string) => `${server}__connect`;

const connectTool = (server: string): ToolDefinition => ({
  name: connectToolName(server),
  description: `Connect the user's ${server} account. Call it when the user asks for something ${server} holds; they are asked to authorize access, then ${server}'s tools become available.`,
  inputSchema: { type: 'object', properties: {}, additionalProperties: false },
  sideEffect: false,
});

const invalidServer = (server: string) =>
  new StewardError('invalid_input', `${server.slice(0, 64)} is not an MCP server users connect with OAuth`, {
    details: { field: 'server' },
  });

/**
 * @internal The registry's servers users connect to with their own account (OAuth `oauth`, and
 * `token_exchange`): their per-user sessions, their part of the catalog, and the authorization
 * API (begin, complete, list, disconnect).
 */
export class OAuthServers {
  readonly #settings: ResolvedOAuthOptions | undefined;
  readonly #servers = new Map<string, PerUserServer>();
  readonly #warn: (message: string, cause?: unknown) => void;

  constructor(settings: ResolvedOAuthOptions | undefined, warn: (message: string, cause?: unknown) => void) {
    this.#settings = settings;
    this.#warn = warn;
  }

  get settings(): ResolvedOAuthOptions | undefined {
    return this.#settings;
  }

  add(server: PerUserServer): void {
    this.#servers.set(server.config.name, server);
  }

  async remove(name: string): Promise<void> {
    const server = this.#servers.get(name);
    this.#servers.delete(name);
    await server?.close();
  }

  /** The user's part of the catalog: their session's tools, or what `whenDisconnected` says. */
  async listTools(
    context: ToolListContext | undefined,
    define: (config: ResolvedServerConfig, tool: McpTool) => ToolDefinition,
  ): Promise<ToolDefinition[]> {
    const lists = await Promise.all(
      [...this.#servers.values()].map(async (server) => {
        const { config } = server;
        const auth = server.target.auth;
        const offerConnect = () =>
          auth.type !== 'oauth' || auth.whenDisconnected === 'hide'
            ? []
            : (server.lastTools?.map((tool) => define(config, tool)) ?? [connectTool(config.name)]);
        if (context?.userId === undefined) return offerConnect();
        try {
          const connection = await server.session(context.userId);
          return connection.tools.map((tool) => define(config, tool));
        } catch (error) {
          if (neededChallenge(error) !== undefined) return offerConnect();
          this.#warn(`${config.name}: listing the user's tools failed`, error);
          return [];
        }
      }),
    );
    return lists.flat();
  }

  /** Calls a tool of a per-user server, or resolves `undefined` when `name` is none of theirs. */
  async callTool(
    name: string,
    args: unknown,
    context: ToolCallContext,
    validator: ArgumentValidator,
  ): Promise<{ result: unknown } | undefined> {
    const server = [...this.#servers.values()].find((candidate) =>
      name.startsWith(`${candidate.config.name}__`),
    );
    if (server === undefined) return undefined;
    try {
      const connection = await server.session(context.userId);
      if (
        name === connectToolName(server.config.name) &&
        !connection.tools.some((tool) => modelToolName(server.config.name, tool.name) === name)
      )
        return { result: { connected: true, server: server.config.name } };
      const tool = connection.tools.find(
        (candidate) => modelToolName(server.config.name, candidate.name) === name,
      );
      if (tool === undefined)
        throw new StewardError(
          'tool_not_found',
          `${name} is not a tool of ${server.config.name} for this user`,
        );
      validator.check(tool.inputSchema, args, name);
      return { result: await connection.callTool(tool, args, context) };
    } catch (error) {
      const challenge = neededChallenge(error);
      if (challenge === undefined) throw error;
      throw await this.#authorizationRequired(server, context, challenge);
    }
  }

  /** The `authorization_required` a call rejects with: a fresh authorization bound to it. */
  async #authorizationRequired(
    server: PerUserServer,
    context: ToolCallContext,
    challenge: NonNullable<ReturnType<typeof neededChallenge>>,
  ): Promise<StewardError> {
    const { target } = server;
    const settings = target.settings;
    let stepUps = 0;
    if (challenge.reason === 'insufficient_scope') {
      const record = await readTokens(target, context.userId);
      const previous = record?.stepUp?.callId === context.callId ? record.stepUp.count : 0;
      if (previous >= settings.maxStepUps)
        return new StewardError(
          'authorization_failed',
          `${target.server}: the server still refuses this call for lack of scope after ${previous} authorizations`,
          {
            details: {
              server: target.server,
              reason: 'insufficient_scope',
              scopes: scopeList(challenge.scope),
            },
          },
        );
      stepUps = previous + 1;
    }
    const start = await beginAuthorization(target, {
      userId: context.userId,
      runId: context.runId,
      callId: context.callId,
      ...(challenge.reason === 'insufficient_scope' ? { scopes: scopeList(challenge.scope) } : {}),
      challenge,
      stepUps,
    });
    return new StewardError(
      'authorization_required',
      `${target.server}: the user needs to authorize this server`,
      {
        retryable: false,
        details: { ...start },
      },
    );
  }

  #server(name: string): PerUserServer {
    const server = this.#servers.get(name);
    if (server === undefined || server.target.auth.type !== 'oauth') throw invalidServer(name);
    return server;
  }

  async begin(request: {
    server: string;
    userId: string;
    runId?: string | undefined;
    callId?: string | undefined;
    scopes?: readonly string[] | undefined;
  }): Promise<McpAuthorizationStart> {
    const server = this.#server(request.server);
    return beginAuthorization(server.target, request);
  }

  async complete(request: {
    state: string;
    userId: string;
    code?: string | undefined;
    error?: string | undefined;
    errorDescription?: string | undefined;
  }): Promise<McpAuthorizationResult> {
    const settings = this.#settings;
    if (settings === undefined) throw invalidServer('(none)');
    const pending = await claimPending(settings.vault, request.state, request.userId);
    const server = this.#servers.get(pending.server);
    if (server === undefined)
      throw new StewardError(
        'authorization_failed',
        `${pending.server}: the server is no longer registered`,
        {
          details: { server: pending.server, reason: 'unknown_server' },
        },
      );
    if (server.target.now() > pending.expiresAt)
      throw new StewardError(
        'authorization_failed',
        `${pending.server}: this authorization expired; start it again`,
        {
          details: { server: pending.server, reason: 'expired' },
        },
      );
    if (request.error !== undefined)
      throw callbackError(pending.server, request.error, request.errorDescription);
    if (request.code === undefined || request.code === '')
      throw new StewardError('authorization_failed', `${pending.server}: the callback carries no code`, {
        details: { server: pending.server, reason: 'invalid_request' },
      });
    const result = await exchangeCode(server.target, pending, request.code);
    // The next call opens a session with the new token (and lists with the new scopes).
    await server.drop(pending.userId);
    return result;
  }

  async connections(userId: string): Promise<McpConnection[]> {
    const servers = [...this.#servers.values()].filter((server) => server.target.auth.type === 'oauth');
    return Promise.all(
      servers.map(async (server): Promise<McpConnection> => {
        const record = await readTokens(server.target, userId);
        const name = server.config.name;
        if (record === undefined) return { server: name, status: 'not_connected' };
        return {
          server: name,
          status: record.tokens === undefined ? 'expired' : 'connected',
          scopes: record.scopes,
          connectedAt: record.connectedAt,
        };
      }),
    );
  }

  async disconnect(request: { server: string; userId: string }): Promise<boolean> {
    const server = this.#server(request.server);
    const record = await readTokens(server.target, request.userId);
    await server.drop(request.userId);
    if (record === undefined) return false;
    await revokeTokens(server.target, request.userId, record).catch((error: unknown) =>
      this.#warn(`${request.server}: revoking the user's tokens failed; they were deleted`, error),
    );
    await server.target.vault.delete(tokensRef(server.target.server, request.userId));
    return true;
  }

  /** Per-user servers have no one session: `connected` (on demand), their last catalog's size. */
  status(): McpServerStatus[] {
    return [...this.#servers.values()].map((server) => ({
      name: server.config.name,
      transport: server.config.transport === 'stdio' ? 'stdio' : server.config.transport,
      state: 'connected',
      circuit: 'closed',
      tools: server.lastTools?.length ?? 0,
      catalogVersion: 0,
      reconnects: 0,
    }));
  }

  async close(): Promise<void> {
    await Promise.all([...this.#servers.values()].map((server) => server.close()));
    this.#servers.clear();
  }
}

export type { ConnectionOptions, FetchLike };
