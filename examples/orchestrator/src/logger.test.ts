import { Writable } from 'node:stream';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { StewardError } from '@steward/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, redactUrl } from './logger.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(() => {
  context.disable();
});

describe('the orchestrator’s logger', () => {
  it('redacts sensitive tool arguments at any of the usual names, and the operator’s own', () => {
    const out = capture();
    const logger = createLogger({ output: out.stream, errors: out.stream, sensitiveKeys: ['ssn'] });
    logger.child({ run_id: 'r1' }).info('tool_requested', {
      tool: 'crm__login',
      arguments: { user: 'ann', password: 'hunter2', api_key: 'k-123', ssn: '078-05-1120', note: 'fine' },
    });
    const [line] = out.lines;
    expect(line).toMatchObject({
      level: 'info',
      msg: 'tool_requested',
      run_id: 'r1',
      arguments: {
        user: 'ann',
        password: '[redacted]',
        api_key: '[redacted]',
        ssn: '[redacted]',
        note: 'fine',
      },
    });
    expect(JSON.stringify(out.lines)).not.toMatch(/hunter2|k-123|078-05/);
  });

  it('redacts credentials in request headers and URLs', () => {
    expect(redactUrl('/ws?run_id=r1&token=eyJabc.def')).toBe('/ws?run_id=r1&token=%5Bredacted%5D');
    expect(redactUrl('/oauth/callback?code=xyz&state=s')).toBe('/oauth/callback?code=%5Bredacted%5D&state=s');
    expect(redactUrl('/api/v1/runs/r1')).toBe('/api/v1/runs/r1');
    const out = capture();
    createLogger({ output: out.stream }).info('request_finished', {
      req: { headers: { authorization: 'Bearer secret-token', cookie: 'sid=1', accept: '*/*' } },
    });
    expect(out.lines[0]).toMatchObject({
      req: { headers: { authorization: '[redacted]', cookie: '[redacted]', accept: '*/*' } },
    });
  });

  it('describes errors, sends warnings to stderr only, and stamps the active trace', () => {
    const out = capture();
    const errors = capture();
    const logger = createLogger({ output: out.stream, errors: errors.stream });
    const span = new TracerProvider().getTracer('test').startSpan('run');
    context.with(trace.setSpan(context.active(), span), () =>
      logger.warn('assistant_warning', { error: new StewardError('tool_unavailable', 'down') }),
    );
    span.end();
    expect(out.lines).toEqual([]);
    expect(errors.lines[0]).toMatchObject({
      level: 'warn',
      error: { name: 'StewardError', message: 'down', code: 'tool_unavailable' },
      trace_id: span.spanContext().traceId,
      span_id: span.spanContext().spanId,
    });
    expect(JSON.stringify(errors.lines[0])).not.toContain('stack');
  });
});
