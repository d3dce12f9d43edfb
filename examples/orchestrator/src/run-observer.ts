import { trace } from '@opentelemetry/api';
import type { StewardError, StewardEvent } from '@steward/core';
import type { Logger } from './logger.ts';
import { type OrchestratorMetrics, refusalCodes } from './metrics.ts';

/** What the observer needs of the assistant: its events and warnings, and its model's id. */
export interface ObservedAssistant {
  readonly model: { readonly modelId: string };
  on(event: 'event', listener: (event: StewardEvent) => void): unknown;
  on(event: 'warning', listener: (warning: StewardError) => void): unknown;
}

/** One run on this instance, as the observer follows it. */
interface Followed {
  readonly logger: Logger;
  readonly startedAt: number;
  firstToken: boolean;
  readonly waiting: Set<string>;
}

/**
 * Turns the assistant's events into log lines and metric samples. Every line about a run
 * carries its `run_id`, `session_id`, `user_id` and `trace_id` (the run's span is active while
 * its events are emitted, so the trace id is the run's). A tool call's arguments are logged only
 * through the logger's redaction. Listeners run inside the run loop: nothing here may throw.
 */
export function observeRuns(
  assistant: ObservedAssistant,
  logger: Logger,
  metrics: OrchestratorMetrics,
  now: () => number = performance.now.bind(performance),
): void {
  const runs = new Map<string, Followed>();
  const model = assistant.model.modelId;
  const waiting = () => {
    let count = 0;
    for (const run of runs.values()) count += run.waiting.size;
    metrics.approvalsWaiting.set(count);
  };
  const follow = (runId: string, bindings: Record<string, unknown> = {}): Followed => {
    let run = runs.get(runId);
    if (run === undefined) {
      const span = trace.getActiveSpan()?.spanContext();
      const traceId = span !== undefined && trace.isSpanContextValid(span) ? span.traceId : undefined;
      run = {
        logger: logger.child({
          run_id: runId,
          ...bindings,
          ...(traceId === undefined ? {} : { trace_id: traceId }),
        }),
        startedAt: now(),
        firstToken: false,
        waiting: new Set(),
      };
      runs.set(runId, run);
    }
    return run;
  };

  assistant.on('event', (event) => {
    switch (event.type) {
      case 'run_started':
        follow(event.run_id, { session_id: event.session_id, user_id: event.user_id }).logger.info(
          'run_started',
        );
        break;
      case 'token': {
        const run = runs.get(event.run_id);
        if (run !== undefined && !run.firstToken) {
          run.firstToken = true;
          metrics.timeToFirstToken.observe((now() - run.startedAt) / 1000);
        }
        break;
      }
      case 'usage':
        metrics.tokens.inc({ model, direction: 'input' }, event.input_tokens);
        metrics.tokens.inc({ model, direction: 'output' }, event.output_tokens);
        follow(event.run_id).logger.info('model_usage', {
          step: event.step,
          input_tokens: event.input_tokens,
          output_tokens: event.output_tokens,
        });
        break;
      case 'tool_request':
        follow(event.run_id).logger.info('tool_requested', {
          call_id: event.call_id,
          tool: event.tool_slug,
          arguments: event.args,
        });
        break;
      case 'approval_required': {
        const run = follow(event.run_id);
        run.waiting.add(event.call_id);
        waiting();
        run.logger.info('approval_required', { call_id: event.call_id, tool: event.tool_slug });
        break;
      }
      case 'approval_resolved': {
        const run = follow(event.run_id);
        run.waiting.delete(event.call_id);
        waiting();
        run.logger.info('approval_resolved', { call_id: event.call_id, decision: event.decision });
        break;
      }
      case 'tool_result': {
        const { server, tool } = splitTool(event.tool_slug);
        const outcome = event.error === undefined ? 'ok' : event.error.code;
        metrics.toolCalls.inc({ server, tool, outcome });
        metrics.toolDuration.observe({ server, tool }, event.duration_ms / 1000);
        follow(event.run_id).logger.info('tool_finished', {
          call_id: event.call_id,
          tool: event.tool_slug,
          outcome,
          duration_ms: event.duration_ms,
        });
        break;
      }
      case 'error': {
        metrics.runErrors.inc({ code: event.code });
        if (refusalCodes.has(event.code)) metrics.refusals.inc({ code: event.code });
        follow(event.run_id).logger.warn('run_error', { code: event.code, message: event.message });
        break;
      }
      case 'final': {
        const run = follow(event.run_id);
        const outcome = event.stop_reason;
        metrics.runs.inc({ outcome });
        metrics.runDuration.observe({ outcome }, (now() - run.startedAt) / 1000);
        run.logger.info('run_finished', {
          stop_reason: event.stop_reason,
          partial: event.partial,
          input_tokens: event.usage.input_tokens,
          output_tokens: event.usage.output_tokens,
        });
        runs.delete(event.run_id);
        waiting();
        break;
      }
      default:
        break;
    }
  });

  assistant.on('warning', (warning) => {
    const runId = warning.details.runId;
    const target =
      typeof runId === 'string' ? (runs.get(runId)?.logger ?? logger.child({ run_id: runId })) : logger;
    if (/storing|storage/i.test(warning.message)) metrics.dependencyErrors.inc({ dependency: 'storage' });
    target.warn('assistant_warning', { error: warning });
  });
}

/** `server__TOOL` as the MCP registry names its tools; any other name is a local tool. */
function splitTool(slug: string): { server: string; tool: string } {
  const at = slug.indexOf('__');
  return at === -1
    ? { server: 'local', tool: slug }
    : { server: slug.slice(0, at), tool: slug.slice(at + 2) };
}
