import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { RequestHandler } from 'express';

/**
 * Continues the caller's trace: the `traceparent` a Steward MCP client sends becomes the parent
 * of a server span per MCP request (`tools/call GMAIL_FETCH_EMAILS`, after the MCP semantic
 * conventions), active while the request is handled. With no OpenTelemetry SDK installed in
 * this process, the API makes all of it a no-op.
 */
export function continueTrace(): RequestHandler {
  return (request, response, next) => {
    const parent = propagation.extract(context.active(), request.headers);
    const body = request.body as { method?: unknown; params?: { name?: unknown } } | undefined;
    const method = typeof body?.method === 'string' ? body.method : undefined;
    const tool =
      method === 'tools/call' && typeof body?.params?.name === 'string' ? body.params.name : undefined;
    const path = request.originalUrl.split('?')[0] ?? '/';
    const name = method === undefined ? `${request.method} ${path}` : method;
    const span = trace.getTracer('@steward/example-mcp-gmail').startSpan(
      tool === undefined ? name : `${name} ${tool}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': path,
          ...(method === undefined ? {} : { 'mcp.method.name': method }),
          ...(tool === undefined ? {} : { 'gen_ai.tool.name': tool }),
        },
      },
      parent,
    );
    response.once('close', () => {
      span.setAttribute('http.response.status_code', response.statusCode);
      if (response.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), next);
  };
}
