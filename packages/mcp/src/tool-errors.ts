import { SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { isStewardError, StewardError } from '@steward/core';

/** @internal True for a Streamable HTTP 404: the server forgot our session and wants a new one. */
export function isSessionExpired(error: unknown): boolean {
  return error instanceof StreamableHTTPError && error.code === 404;
}

/** @internal True for failures that say nothing about the tool, only about reaching its server. */
export function isTransient(error: unknown): boolean {
  if (error instanceof McpError)
    return error.code === ErrorCode.ConnectionClosed || error.code === ErrorCode.RequestTimeout;
  if (error instanceof StreamableHTTPError)
    return error.code === undefined || error.code >= 500 || error.code === 404;
  return error instanceof TypeError; // fetch failed, connection refused or reset
}

/** @internal The status of an HTTP 401 or 403 answer to an MCP transport, else undefined. */
export function refusedStatus(error: unknown): number | undefined {
  const status = error instanceof StreamableHTTPError || error instanceof SseError ? error.code : undefined;
  return status === 401 || status === 403 ? status : undefined;
}

/**
 * @internal The error for a server that refused Steward's credentials (HTTP 401 or 403). Not
 * retryable: the same credentials get the same answer until someone fixes the configuration.
 * `audience` is the service token's, when one was sent; `detail` what the server said.
 */
export function authRefused(
  where: string,
  status: number,
  audience: string | undefined,
  detail: string | undefined,
  cause?: unknown,
): StewardError {
  const said = detail === undefined || detail === '' ? '' : ` (${detail})`;
  const hint =
    audience === undefined
      ? 'it wants credentials: register it with serviceAuth (or headers)'
      : `it refused the service token for audience ${audience}: check the audience, issuer and key it expects`;
  return new StewardError('tool_unavailable', `${where}: the server answered ${status}${said}; ${hint}`, {
    retryable: false,
    cause,
    details: { status, ...(audience === undefined ? {} : { audience }) },
  });
}

/**
 * @internal The error for a call its caller aborted. The MCP client wraps any abort reason as a
 * request timeout; the caller's own reason says what happened (a stop is `run_aborted`, only an
 * `AbortSignal.timeout` is `tool_timeout`), as it does for local tools.
 */
export function callAborted(reason: unknown, where: string): StewardError {
  if (isStewardError(reason)) return reason;
  if (reason instanceof DOMException && reason.name === 'TimeoutError') {
    return new StewardError('tool_timeout', `${where} timed out`, { cause: reason });
  }
  const message =
    reason instanceof Error ? reason.message : reason === undefined ? 'aborted' : String(reason);
  return new StewardError('run_aborted', `${where} was aborted: ${message}`, { cause: reason });
}

// The MCP SDK reports a bad reply with the codes of a bad request (-32602, -32600); only its
// words tell them apart. The registry's fault tests hold these against the SDK in use.
const malformedReply = /Invalid tools\/call result/;
const outputMismatch =
  /Structured content does not match the tool's output schema|Failed to validate structured content|has an output schema but did not return structured content/;

/**
 * What is wrong with the server's reply, when the reply (not the request) is at fault: the SDK
 * server found its own result breaks the MCP schema, or its structured content fails the tool's
 * own `outputSchema`. (The client's own schema check throws a ZodError: `tool_execution_failed`
 * below, the same code.)
 */
function replyFault(error: unknown): 'malformed' | 'output' | undefined {
  if (!(error instanceof McpError)) return undefined;
  if (malformedReply.test(error.message)) return 'malformed';
  if (outputMismatch.test(error.message)) return 'output';
  return undefined;
}

/** @internal Maps what the MCP client throws to a typed tool error. */
export function toToolError(error: unknown, server: string, tool: string, audience?: string): StewardError {
  if (isStewardError(error)) return error;
  const where = `${server}/${tool}`;
  const refused = refusedStatus(error);
  if (refused !== undefined) return authRefused(where, refused, audience, (error as Error).message, error);
  const fault = replyFault(error);
  if (fault === 'malformed') {
    return new StewardError('tool_execution_failed', `${where}: the server's reply breaks the MCP schema`, {
      cause: error,
    });
  }
  if (fault === 'output') {
    return new StewardError('tool_invalid_output', `${where}: ${(error as Error).message}`, { cause: error });
  }
  if (error instanceof McpError) {
    switch (error.code) {
      case ErrorCode.RequestTimeout:
        return new StewardError('tool_timeout', `${where} timed out`, { cause: error });
      case ErrorCode.ConnectionClosed:
        return new StewardError('tool_unavailable', `${where}: the connection to the server closed`, {
          cause: error,
        });
      case ErrorCode.InvalidParams:
        return new StewardError('tool_invalid_arguments', `${where}: ${error.message}`, {
          cause: error,
          details: { data: error.data },
        });
      case ErrorCode.MethodNotFound:
        return new StewardError('tool_not_found', `${where}: ${error.message}`, { cause: error });
      default:
        return new StewardError('tool_execution_failed', `${where}: ${error.message}`, {
          cause: error,
          details: { mcpCode: error.code },
        });
    }
  }
  if (isTransient(error)) {
    const message = error instanceof Error ? error.message : String(error);
    return new StewardError('tool_unavailable', `${where}: the server could not be reached: ${message}`, {
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new StewardError('tool_execution_failed', `${where}: ${message}`, { cause: error });
}
