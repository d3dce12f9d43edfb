import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The orchestrator's Prometheus metrics, served at `GET /metrics`. Every label has a bounded
 * set of values: outcomes and error codes come from closed unions, models and tools from the
 * operator's configuration and registry. A user id, run id or session id is never a label.
 */
export interface OrchestratorMetrics {
  readonly registry: Registry;
  readonly runs: Counter<'outcome'>;
  readonly runDuration: Histogram<'outcome'>;
  readonly timeToFirstToken: Histogram;
  readonly tokens: Counter<'model' | 'direction'>;
  readonly toolCalls: Counter<'server' | 'tool' | 'outcome'>;
  readonly toolDuration: Histogram<'server' | 'tool'>;
  readonly runErrors: Counter<'code'>;
  readonly refusals: Counter<'code'>;
  readonly approvalsWaiting: Gauge;
  readonly openStreams: Gauge<'kind'>;
  readonly circuitState: Gauge<'server'>;
  readonly dependencyErrors: Counter<'dependency'>;
}

/** Error codes that mean "not admitted": counted as refusals too. */
export const refusalCodes: ReadonlySet<string> = new Set([
  'rate_limited',
  'too_many_active_runs',
  'quota_exceeded',
  'session_busy',
]);

/** What {@link OrchestratorMetrics.circuitState} reports per server. */
export const circuitStateValue = { closed: 0, half_open: 1, open: 2 } as const;

/** A fresh registry with the orchestrator's metrics and Node's default process metrics. */
export function createOrchestratorMetrics(
  options: { circuits?: () => readonly { name: string; circuit: keyof typeof circuitStateValue }[] } = {},
): OrchestratorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'steward_' });
  const registers = [registry];
  const seconds = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];
  return {
    registry,
    runs: new Counter({
      name: 'steward_runs_total',
      help: 'Runs ended, by outcome (the final event’s stop_reason).',
      labelNames: ['outcome'],
      registers,
    }),
    runDuration: new Histogram({
      name: 'steward_run_duration_seconds',
      help: 'Time from run_started to final, by outcome.',
      labelNames: ['outcome'],
      buckets: seconds,
      registers,
    }),
    timeToFirstToken: new Histogram({
      name: 'steward_time_to_first_token_seconds',
      help: 'Time from run_started to the run’s first token.',
      buckets: [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30],
      registers,
    }),
    tokens: new Counter({
      name: 'steward_tokens_total',
      help: 'Model tokens, by model and direction (input or output).',
      labelNames: ['model', 'direction'],
      registers,
    }),
    toolCalls: new Counter({
      name: 'steward_tool_calls_total',
      help: 'Tool calls that ended, by MCP server (or local), tool and outcome (ok or the error code).',
      labelNames: ['server', 'tool', 'outcome'],
      registers,
    }),
    toolDuration: new Histogram({
      name: 'steward_tool_duration_seconds',
      help: 'Tool call latency, by server and tool.',
      labelNames: ['server', 'tool'],
      buckets: seconds,
      registers,
    }),
    runErrors: new Counter({
      name: 'steward_run_errors_total',
      help: 'Error events of runs, by code.',
      labelNames: ['code'],
      registers,
    }),
    refusals: new Counter({
      name: 'steward_admission_refusals_total',
      help: 'Runs refused before they started: rate limit, active-run cap, quota, busy session.',
      labelNames: ['code'],
      registers,
    }),
    approvalsWaiting: new Gauge({
      name: 'steward_approvals_waiting',
      help: 'Tool calls of runs on this instance waiting for the user’s approval.',
      registers,
    }),
    openStreams: new Gauge({
      name: 'steward_open_streams',
      help: 'Open WebSocket connections and SSE streams on this instance.',
      labelNames: ['kind'],
      registers,
    }),
    circuitState: new Gauge({
      name: 'steward_mcp_circuit_state',
      help: 'Each MCP server’s circuit breaker: 0 closed, 1 half open, 2 open.',
      labelNames: ['server'],
      registers,
      collect() {
        this.reset();
        for (const server of options.circuits?.() ?? [])
          this.set({ server: server.name }, circuitStateValue[server.circuit]);
      },
    }),
    dependencyErrors: new Counter({
      name: 'steward_dependency_errors_total',
      help: 'Errors of PostgreSQL and Redis clients, and storage failures runs reported.',
      labelNames: ['dependency'],
      registers,
    }),
  };
}
