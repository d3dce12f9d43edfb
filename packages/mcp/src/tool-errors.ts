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

/** @internal Maps what the MCP client throws to a typed tool error. */
export function toToolError(error: unknown, server: string, tool: string, audience?: string): StewardError {
  if (isStewardError(error)) return error;
  const where = `${server}/${tool}`;
  const refused = refusedStatus(error);
  if (refused !== undefined) return authRefused(where, refused, audience, (error as Error).message, error);
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
