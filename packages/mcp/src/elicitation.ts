import { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type {
  ClientNotification,
  ClientRequest,
  ElicitRequest,
  ElicitResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { InputRequest, InputResponse, RequestedSchema, ToolCallContext } from '@steward/core';
import type { ArgumentValidator } from './argument-validator.ts';

/** @internal A tool call in flight on one connection, as an elicitation may need it. */
export interface InFlightCall {
  readonly context: ToolCallContext;
  readonly tool: string;
  /** Stops the call's own timeout while the user is asked. */
  readonly holdTimeout: () => () => void;
}

/**
 * @internal Which tool call a server's request belongs to. MCP does not say: a request the server
 * sends while handling `tools/call` relates to it on the server's side only. Over Streamable HTTP
 * it arrives on the call's own response stream, which this process reads in the call's async
 * context, so that context names the call exactly. Otherwise (stdio, legacy SSE, the standalone
 * GET stream) the call is the one in flight on the connection; with none or several, nobody can
 * tell whose user to ask, and the request is declined rather than shown to the wrong person.
 */
export class CallRouter {
  readonly #current = new AsyncLocalStorage<InFlightCall>();
  readonly #inFlight = new Set<InFlightCall>();

  /** Runs a call with `call` as its context, in flight until it settles. */
  async run<T>(call: InFlightCall, send: () => Promise<T>): Promise<T> {
    this.#inFlight.add(call);
    try {
      return await this.#current.run(call, send);
    } finally {
      this.#inFlight.delete(call);
    }
  }

  /**
   * Runs `work` outside any call's context: a connection opened during a call (a reconnect)
   * must not make its long-lived streams look like that call's.
   */
  outside<T>(work: () => T): T {
    return this.#current.exit(work);
  }

  /** The call a server's request belongs to, or why none can be named. */
  find(): InFlightCall | 'none' | 'ambiguous' {
    const current = this.#current.getStore();
    if (current !== undefined && this.#inFlight.has(current)) return current;
    if (this.#inFlight.size === 0) return 'none';
    if (this.#inFlight.size > 1) return 'ambiguous';
    return [...this.#inFlight][0] as InFlightCall;
  }
}

/** @internal What answering elicitations needs from the connection. */
export interface ElicitationOptions {
  readonly server: string;
  readonly router: CallRouter;
  readonly validator: ArgumentValidator;
  readonly warn: (message: string, cause?: unknown) => void;
}

type Extra = RequestHandlerExtra<ClientRequest, ClientNotification>;

/**
 * @internal Answers a server's `elicitation/create` (the SDK checked it against the MCP schema
 * and the declared modes) by asking the user of the tool call it belongs to, through the call's
 * `requestInput`: the run shows it and waits. A form's answer gets the form's defaults and is
 * checked against the form once more here, whoever supplied the context, so the server only ever
 * gets content that fits what it asked for. What cannot be asked is declined, with the reason in
 * a warning.
 */
export function createElicitationHandler(options: ElicitationOptions) {
  const { server, router, validator, warn } = options;
  return async (request: ElicitRequest, extra: Extra): Promise<ElicitResult> => {
    const params = request.params;
    const found = router.find();
    if (typeof found === 'string') {
      warn(
        found === 'none'
          ? `${server}: declined an elicitation that arrived outside any tool call of a run`
          : `${server}: declined an elicitation: several tool calls are in flight on this connection and it does not say which one it belongs to`,
      );
      return { action: 'decline' };
    }
    const { context, tool } = found;
    if (context.requestInput === undefined) {
      warn(
        `${server}/${tool}: declined an elicitation: the call was made outside a run, so nobody can answer it`,
      );
      return { action: 'decline' };
    }
    const schema: RequestedSchema | undefined =
      params.mode === 'url' ? undefined : (params.requestedSchema as RequestedSchema);
    const input: InputRequest =
      params.mode === 'url'
        ? { mode: 'url', message: params.message, url: params.url, server }
        : { mode: 'form', message: params.message, requestedSchema: schema as RequestedSchema, server };
    const release = found.holdTimeout();
    let response: InputResponse;
    try {
      response = await context.requestInput(input, { signal: extra.signal });
    } catch (error) {
      warn(`${server}/${tool}: declined an elicitation the run could not show`, error);
      return { action: 'decline' };
    } finally {
      release();
    }
    if (response.action !== 'accept') return { action: response.action };
    if (schema === undefined) return { action: 'accept' };
    const content = withDefaults(schema, { ...response.content });
    const errors = validator.errors(schema as unknown as Record<string, unknown>, content);
    if (errors.length > 0) {
      warn(
        `${server}/${tool}: the answer to an elicitation does not fit its form (${errors
          .map((error) => `${error.path} ${error.message}`)
          .join('; ')}); answered cancel`,
      );
      return { action: 'cancel' };
    }
    return { action: 'accept', content: content as ElicitResult['content'] };
  };
}

/** `content` with each field the user left out set to the form's `default`, where it has one. */
export function withDefaults(
  schema: RequestedSchema,
  content: Record<string, unknown>,
): Record<string, unknown> {
  for (const [name, field] of Object.entries(schema.properties)) {
    if (content[name] === undefined && field.default !== undefined) content[name] = field.default;
  }
  return content;
}
