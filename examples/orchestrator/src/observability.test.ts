import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { startGmailServer } from '@steward/example-mcp-gmail';
import { type MockReplyHandler, startMockOpenAI } from '@steward/testing';
import { createStewardClient } from '@steward/transport-ws/client';
import { signTestToken } from '@steward/transport-ws/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type OrchestratorProcess, startOrchestratorProcess } from './process.ts';
import { collect, removeSharedState } from './test-helpers.ts';

// One orchestrator process exports its spans over OTLP/HTTP (JSON) to a receiver this test runs;
// the Gmail mock runs here, in this process, with an in-memory exporter: the trace must cross
// from one to the other through the `traceparent` header of the MCP request.
const databaseUrl = process.env.STEWARD_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.STEWARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const unique = `${process.pid}_${Date.now().toString(36)}`;
const schema = `steward_observability_${unique}`;
const prefix = `steward-observability-${unique}`;
const secret = 'observability-test-secret-of-at-least-32-bytes';

/** A span as OTLP/JSON carries it: ids in hex, attributes as typed values. */
interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly attributes?: { key: string; value: Record<string, unknown> }[];
}

/** An OTLP/HTTP receiver: it keeps every span it is sent, and the service name it came from. */
function startOtlpReceiver(): Promise<{
  server: Server;
  url: string;
  spans: OtlpSpan[];
  services: Set<string>;
}> {
  const spans: OtlpSpan[] = [];
  const services = new Set<string>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url === '/v1/traces' && request.headers['content-type']?.includes('json')) {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: {
            resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
            scopeSpans: { spans: OtlpSpan[] }[];
          }[];
        };
        for (const resource of body.resourceSpans) {
          const service = resource.resource?.attributes?.find((entry) => entry.key === 'service.name');
          if (service?.value.stringValue !== undefined) services.add(service.value.stringValue);
          for (const scope of resource.scopeSpans) spans.push(...scope.spans);
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, services }),
    ),
  );
}

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes?.find((entry) => entry.key === key)?.value;
  return value === undefined ? undefined : Object.values(value)[0];
};

const reply: MockReplyHandler = (request) => {
  const messages = (request.body.messages ?? []) as { role: string }[];
  if (messages.at(-1)?.role === 'tool') return { text: 'You have mail.' };
  return { toolCalls: [{ name: 'gmail__GMAIL_FETCH_EMAILS', arguments: { user_id: 'me', max_results: 2 } }] };
};

const exporter = new InMemorySpanExporter();
const gmailTracing = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const contextManager = new AsyncLocalStorageContextManager();
context.setGlobalContextManager(contextManager.enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(gmailTracing);

const receiver = await startOtlpReceiver();
const mock = await startMockOpenAI({ reply });
const gmail = await startGmailServer();
let orchestrator: OrchestratorProcess;
const token = await signTestToken({ secret, userId: 'ann', expiresIn: '10m' });

beforeAll(async () => {
  orchestrator = await startOrchestratorProcess('O', {
    DATABASE_URL: databaseUrl,
    STEWARD_DATABASE_SCHEMA: schema,
    REDIS_URL: redisUrl,
    STEWARD_REDIS_PREFIX: prefix,
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: mock.baseURL,
    STEWARD_MODEL: 'gpt-test',
    STEWARD_JWT_SECRET: secret,
    PORT: '0',
    STEWARD_MCP_SERVERS: JSON.stringify([
      {
        name: 'gmail',
        transport: 'streamable-http',
        url: gmail.mcpUrl,
        readOnlyTools: ['GMAIL_FETCH_EMAILS'],
      },
    ]),
    // A generous budget for everyone, and one token a day for bob.
    STEWARD_TOKEN_BUDGET_DAY: '100000000',
    // A dollar a token: costs equal token counts, easy to check.
    STEWARD_MODEL_PRICES: JSON.stringify({
      'gpt-test': { inputPerMillion: 1_000_000, outputPerMillion: 1_000_000 },
    }),
    STEWARD_TOKEN_BUDGET_OVERRIDES: JSON.stringify({ bob: { perDay: 1 } }),
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'orchestrator-under-test',
    // Export each batch at once rather than every five seconds.
    OTEL_BSP_SCHEDULE_DELAY: '50',
  });
});

afterEach((test) => {
  if (test.task.result?.state === 'fail') console.error(orchestrator.lines.join('\n'));
});

afterAll(async () => {
  await orchestrator?.stop();
  await Promise.all([mock.close(), gmail.stop()]);
  await new Promise((resolve) => receiver.server.close(resolve));
  trace.disable();
  propagation.disable();
  context.disable();
  await removeSharedState({ databaseUrl, schema, redisUrl, prefix });
});

describe('observability of a run through the orchestrator', () => {
  it('makes one connected trace: run, model calls, tool call, MCP request, and the Gmail mock’s span', async () => {
    const client = createStewardClient({ url: orchestrator.url, token });
    const { runId } = await client.respond('fetch my mail');
    const events = await collect(client, runId).done;
    expect(events.at(-1)).toMatchObject({ type: 'final', stop_reason: 'stop' });

    const runSpan = await expect
      .poll(() => receiver.spans.find((span) => attribute(span, 'steward.run.id') === runId))
      .toBeDefined()
      .then(() => receiver.spans.find((span) => attribute(span, 'steward.run.id') === runId) as OtlpSpan);
    expect(receiver.services).toContain('orchestrator-under-test');
    const inTrace = () => receiver.spans.filter((span) => span.traceId === runSpan.traceId);
    await expect.poll(() => inTrace().length).toBeGreaterThanOrEqual(4);
    const named = (name: string) => inTrace().filter((span) => span.name === name);
    const chats = named('chat gpt-test');
    const [toolSpan] = named('execute_tool gmail__GMAIL_FETCH_EMAILS');
    const [mcpSpan] = named('tools/call GMAIL_FETCH_EMAILS');
    expect(chats).toHaveLength(2);
    for (const chat of chats) {
      expect(chat.parentSpanId).toBe(runSpan.spanId);
      expect(attribute(chat, 'gen_ai.request.model')).toBe('gpt-test');
      expect(attribute(chat, 'gen_ai.system')).toBe('openai.chat');
    }
    expect(toolSpan?.parentSpanId).toBe(runSpan.spanId);
    expect(mcpSpan?.parentSpanId).toBe(toolSpan?.spanId);
    expect(attribute(mcpSpan as OtlpSpan, 'mcp.method.name')).toBe('tools/call');

    // The Gmail mock continued the trace: its server span's parent is the orchestrator's MCP span.
    const served = exporter
      .getFinishedSpans()
      .find(
        (span) =>
          span.name === 'tools/call GMAIL_FETCH_EMAILS' && span.spanContext().traceId === runSpan.traceId,
      );
    expect(served?.parentSpanContext?.spanId).toBe(mcpSpan?.spanId);
    expect(served?.attributes['gen_ai.tool.name']).toBe('GMAIL_FETCH_EMAILS');

    // Every log line about the run carries its ids and its trace.
    const lines = orchestrator.lines.map(parse).filter((entry) => entry?.run_id === runId);
    expect(lines.map((entry) => entry?.msg)).toEqual(
      expect.arrayContaining([
        'run_started',
        'tool_requested',
        'tool_finished',
        'model_usage',
        'run_finished',
      ]),
    );
    for (const entry of lines)
      expect(entry).toMatchObject({
        session_id: events[0]?.type === 'run_started' ? events[0].session_id : '',
        user_id: 'ann',
        trace_id: runSpan.traceId,
      });
    expect(lines.find((entry) => entry?.msg === 'tool_finished')).toMatchObject({
      tool: 'gmail__GMAIL_FETCH_EMAILS',
      outcome: 'ok',
    });
  });

  it('logs each request once, with no credential in the line', async () => {
    const client = createStewardClient({ url: orchestrator.url, token });
    const { runId } = await client.respond('fetch my mail');
    await collect(client, runId).done;
    const requests = orchestrator.lines.map(parse).filter((entry) => entry?.msg === 'request_finished');
    const respond = requests.find((entry) => (entry?.req as { url?: string })?.url === '/api/v1/respond');
    expect(respond).toMatchObject({
      req: { method: 'POST', headers: { authorization: '[redacted]' } },
      res: { statusCode: 202 },
    });
    expect(typeof respond?.responseTime).toBe('number');
    // The WebSocket's token sits in its query: the logged URL masks it.
    const upgrade = await fetch(`${orchestrator.url}/api/v1/runs/${runId}?token=${token}`);
    expect(upgrade.status).toBeLessThan(500);
    await expect
      .poll(() => orchestrator.lines.some((line) => line.includes(`/api/v1/runs/${runId}?token=`)))
      .toBe(true);
    expect(orchestrator.lines.join('\n')).not.toContain(token);
    // Probes and scrapes are not logged.
    await fetch(`${orchestrator.url}/healthz`);
    expect(requests.some((entry) => (entry?.req as { url?: string })?.url === '/healthz')).toBe(false);
  });

  it('holds a user to their token budget: the run that crosses it ends with quota_exceeded, the next gets 429', async () => {
    const bob = await signTestToken({ secret, userId: 'bob', expiresIn: '10m' });
    const client = createStewardClient({ url: orchestrator.url, token: bob });
    const { runId } = await client.respond('fetch my mail');
    const events = await collect(client, runId).done;
    // Its first model call spent the budget: the tool ran, the next model call did not.
    expect(events.find((event) => event.type === 'error')).toMatchObject({ code: 'quota_exceeded' });
    expect(events.at(-1)).toMatchObject({ type: 'final', stop_reason: 'error', partial: true });
    const refused = await fetch(`${orchestrator.url}/api/v1/respond`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bob}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'again' }),
    });
    expect(refused.status).toBe(429);
    const body = (await refused.json()) as {
      error: { code: string; details: { resetAt: string; period: string } };
    };
    expect(body.error).toMatchObject({ code: 'quota_exceeded', details: { period: 'day', limit: 1 } });
    const reset = Date.parse(body.error.details.resetAt);
    expect(reset).toBe(new Date(new Date().setUTCHours(24, 0, 0, 0)).getTime());
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // ann's budget is her own.
    const annClient = createStewardClient({ url: orchestrator.url, token });
    const { runId: annRun } = await annClient.respond('fetch my mail');
    expect((await collect(annClient, annRun).done).at(-1)).toMatchObject({ stop_reason: 'stop' });
    const metrics = await (await fetch(`${orchestrator.url}/metrics`)).text();
    expect(metrics).toMatch(/^steward_admission_refusals_total\{code="quota_exceeded"\} [1-9]/m);
  });

  it('reports the caller’s usage and cost by day and by session', async () => {
    const client = createStewardClient({ url: orchestrator.url, token });
    const { runId, sessionId } = await client.respond('fetch my mail');
    const events = await collect(client, runId).done;
    const final = events.at(-1);
    if (final?.type !== 'final') throw new Error('no final');
    expect(final.usage.cost_usd).toBe(final.usage.total_tokens);
    const report = (await (
      await fetch(`${orchestrator.url}/api/v1/usage`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as {
      total: { runs: number; total_tokens: number; cost_usd: number };
      by_day: { day: string; runs: number; total_tokens: number; cost_usd: number }[];
      by_session: { session_id: string; runs: number; total_tokens: number; cost_usd: number }[];
    };
    const today = new Date().toISOString().slice(0, 10);
    expect(report.by_day.map((row) => row.day)).toContain(today);
    expect(report.total.runs).toBeGreaterThanOrEqual(1);
    expect(report.total.cost_usd).toBe(report.total.total_tokens);
    expect(report.by_session.find((row) => row.session_id === sessionId)).toMatchObject({
      runs: 1,
      total_tokens: final.usage.total_tokens,
      cost_usd: final.usage.total_tokens,
    });
    // Only the caller's: another user's report is empty.
    const nobody = await signTestToken({ secret, userId: 'nobody', expiresIn: '10m' });
    const empty = await (
      await fetch(`${orchestrator.url}/api/v1/usage`, { headers: { authorization: `Bearer ${nobody}` } })
    ).json();
    expect(empty).toMatchObject({ total: { runs: 0 }, by_day: [], by_session: [] });
    expect((await fetch(`${orchestrator.url}/api/v1/usage`)).status).toBe(401);
    const bad = await fetch(`${orchestrator.url}/api/v1/usage?since=yesterday`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(bad.status).toBe(400);
  });

  it('serves Prometheus metrics: runs, latency, tokens, tools, breakers; never a user id', async () => {
    const client = createStewardClient({ url: orchestrator.url, token });
    const { runId } = await client.respond('fetch my mail');
    await collect(client, runId).done;
    const response = await fetch(`${orchestrator.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    const sample = (name: string) => {
      const line = text.split('\n').find((entry) => entry.startsWith(`${name} `));
      return line === undefined ? undefined : Number(line.slice(name.length + 1));
    };
    expect(sample('steward_runs_total{outcome="stop"}')).toBeGreaterThanOrEqual(1);
    expect(sample('steward_run_duration_seconds_count{outcome="stop"}')).toBeGreaterThanOrEqual(1);
    expect(sample('steward_time_to_first_token_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample('steward_tokens_total{model="gpt-test",direction="input"}')).toBeGreaterThan(0);
    expect(sample('steward_tokens_total{model="gpt-test",direction="output"}')).toBeGreaterThan(0);
    expect(
      sample('steward_tool_calls_total{server="gmail",tool="GMAIL_FETCH_EMAILS",outcome="ok"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample('steward_tool_duration_seconds_count{server="gmail",tool="GMAIL_FETCH_EMAILS"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(sample('steward_mcp_circuit_state{server="gmail"}')).toBe(0);
    expect(sample('steward_approvals_waiting')).toBe(0);
    expect(text).toContain('steward_open_streams');
    expect(text).toContain('steward_process_cpu_seconds_total');
    // Bounded labels: no user, session or run id anywhere.
    expect(text).not.toContain('ann');
    expect(text).not.toContain(runId);
  });
});

function parse(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
