import { hostHeaderValidation } from '@modelcontextprotocol/sdk/server/middleware/hostHeaderValidation.js';
import type { RequestHandler } from 'express';

/** Host names every instance answers to: a page cannot make a browser send these for its own domain. */
export const loopbackHostnames: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/** Who may reach the MCP endpoints, against DNS rebinding. */
export interface DnsRebindingOptions {
  /** Host names (no port) the `Host` header may name. */
  readonly allowedHosts: readonly string[];
  /** Origins (`http://localhost:6274`) a browser page calling the endpoints may have. */
  readonly allowedOrigins: readonly string[];
}

/** The host name of a URL as the `Host` check compares it (`[::1]` keeps its brackets). */
export function hostnameOf(url: string): string {
  return new URL(url).hostname;
}

/**
 * DNS rebinding protection for the MCP endpoints, in every auth mode and before any of them:
 * a page on an attacker's domain that resolves to this server sends its own domain in `Host`
 * and its own origin in `Origin`. The `Host` check is the MCP SDK's middleware (port-agnostic
 * host names); the `Origin` check follows the transport specification (2025-11-25): a present
 * `Origin` that is not allowed gets 403, an absent one passes (clients that are not browsers send
 * none). Both answer a JSON-RPC error body, as the SDK's does.
 */
export function protectFromDnsRebinding(options: DnsRebindingOptions): RequestHandler[] {
  const origins = new Set(options.allowedOrigins.map((origin) => new URL(origin).origin));
  const checkOrigin: RequestHandler = (request, response, next) => {
    const origin = request.headers.origin;
    if (origin === undefined || origins.has(origin)) {
      next();
      return;
    }
    response.status(403).json({
      jsonrpc: '2.0',
      error: { code: -32000, message: `Invalid Origin: ${origin.slice(0, 200)}` },
      id: null,
    });
  };
  return [hostHeaderValidation([...new Set(options.allowedHosts)]), checkOrigin];
}
