import { context, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { isStewardError } from '@steward/core';
import type { ResolvedServerConfig } from './server-config.ts';
import type { FetchLike } from './service-auth.ts';

/** The instrumentation scope of the MCP client's spans. */
const tracerName = '@steward/mcp';

/**
 * @internal A fetch that carries the active trace context to the server (W3C `traceparent`
 * with the SDK's default propagator), so the server's spans join the run's trace. The global
 * propagator decides the format; it is a no-op until the host installs an SDK.
 */
export function fetchWithTraceContext(base: FetchLike | undefined): FetchLike {
  return (url, init) => {
    const headers = new Headers(init?.headers);
    propagation.inject(context.active(), headers, {
      set: (carrier, key, value) => carrier.set(key, value),
    });
    // The global fetch is looked up per call: tests and hosts may replace it after connecting.
    return (base ?? fetch)(url, { ...init, headers });
  };
}

/**
 * @internal Runs one MCP request under a client span named after the MCP semantic conventions
 * (`{mcp.method.name} {target}`), so the HTTP request it makes carries this span as parent.
 */
export async function traceMcpRequest<T>(
  config: ResolvedServerConfig,
  method: 'tools/call' | 'tools/list',
  target: string | undefined,
  request: () => Promise<T>,
): Promise<T> {
  const tracer = trace.getTracer(tracerName);
  const span = tracer.startSpan(target === undefined ? method : `${method} ${target}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      'mcp.method.name': method,
      'steward.mcp.server': config.name,
      ...(target === undefined
        ? {}
        : { 'gen_ai.tool.name': target, 'gen_ai.operation.name': 'execute_tool' }),
      ...serverAttributes(config),
    },
  });
  try {
    return await context.with(trace.setSpan(context.active(), span), request);
  } catch (error) {
    fail(span, error);
    throw error;
  } finally {
    span.end();
  }
}

function serverAttributes(config: ResolvedServerConfig) {
  if (config.transport === 'stdio') return { 'network.transport': 'pipe' };
  const url = new URL(config.url);
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return { 'network.transport': 'tcp', 'server.address': url.hostname, 'server.port': port };
}

function fail(span: Span, error: unknown): void {
  span.setAttribute('error.type', isStewardError(error) ? error.code : 'Error');
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}
