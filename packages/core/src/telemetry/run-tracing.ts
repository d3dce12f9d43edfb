import {
  type Attributes,
  type Link,
  context as otelContext,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { isStewardError } from '../errors/steward-error.ts';
import type { Usage } from '../events/usage.ts';
import type { LanguageModel, ModelFinishReason } from '../model/language-model.ts';
import type { Message, ToolCall } from '../model/message.ts';
import type { TelemetryOptions } from './telemetry-options.ts';

/** The instrumentation scope of every span core starts. */
export const tracerName = '@steward/core';

/** Content put on a span is cut here: an attribute is not a place for a whole mailbox. */
const maxContentChars = 16_384;

/** @internal What a run's span needs from the run. */
export interface TracedRun {
  readonly runId: string;
  readonly sessionId: string;
  readonly model: LanguageModel;
  /** The run's stored options; `traceparent` names the span of the run's origin on a resume. */
  readonly options: object;
}

/** @internal What a run span records once the run is over. */
export interface TracedRunResult {
  readonly usage: Usage;
  readonly stopReason: string;
  readonly partial: boolean;
  readonly error?: { readonly code: string; readonly message: string } | undefined;
}

/** @internal What a model call's span records once the call is over. */
export interface TracedModelOutcome {
  readonly text: string;
  readonly toolCalls: readonly ToolCall[];
  readonly usage: Usage | undefined;
  readonly finishReason: ModelFinishReason;
}

/**
 * @internal The spans of runs, model calls and tool calls, named and attributed after the
 * OpenTelemetry GenAI semantic conventions. Each wraps a function and runs it with its span
 * active, so whatever the function starts (an MCP request, a fetch) nests under it.
 */
export interface RunTracing {
  /**
   * Runs `execute` under an `invoke_agent` span. A run resumed elsewhere links to the span of its
   * origin; a fresh run gets its own span's `traceparent` in its options, to be stored.
   */
  run<R extends TracedRunResult, C extends TracedRun>(run: C, execute: (run: C) => Promise<R>): Promise<R>;
  /** Runs one model call (retries included) under a `chat {model}` span. */
  modelCall<O extends TracedModelOutcome>(
    model: LanguageModel,
    request: { readonly messages: readonly Message[]; readonly maxOutputTokens: number | undefined },
    call: () => Promise<O>,
  ): Promise<O>;
  /** Runs one tool call under an `execute_tool {name}` span. */
  toolCall<T>(provider: string, call: ToolCall, invoke: () => Promise<T>): Promise<T>;
}

/** @internal */
export function createRunTracing(options: TelemetryOptions = {}): RunTracing {
  // Looked up per span, not once: a host may register its SDK after creating the assistant.
  const tracer = (): Tracer => (options.tracerProvider ?? trace.getTracerProvider()).getTracer(tracerName);
  const content = options.recordContent === true;
  return {
    async run(run, execute) {
      const stored = (run.options as { traceparent?: unknown }).traceparent;
      const origin = parseTraceparent(typeof stored === 'string' ? stored : undefined);
      const span = tracer().startSpan('invoke_agent steward', {
        kind: SpanKind.INTERNAL,
        attributes: {
          'gen_ai.operation.name': 'invoke_agent',
          'gen_ai.agent.name': 'steward',
          'gen_ai.conversation.id': run.sessionId,
          'gen_ai.system': run.model.provider,
          'gen_ai.provider.name': run.model.provider,
          'gen_ai.request.model': run.model.modelId,
          'steward.run.id': run.runId,
          'steward.run.resumed': origin !== undefined,
        },
        ...(origin === undefined ? {} : { links: [originLink(origin)] }),
      });
      const own = toTraceparent(span.spanContext());
      // Stored with the run's record, so an instance that resumes it can link back here.
      const traced =
        origin !== undefined || own === undefined
          ? run
          : ({ ...run, options: { ...run.options, traceparent: own } } as typeof run);
      try {
        const result = await otelContext.with(trace.setSpan(otelContext.active(), span), () =>
          execute(traced),
        );
        span.setAttributes({
          'gen_ai.usage.input_tokens': result.usage.input_tokens,
          'gen_ai.usage.output_tokens': result.usage.output_tokens,
          'steward.run.stop_reason': result.stopReason,
          'steward.run.partial': result.partial,
        });
        if (result.error !== undefined) failSpan(span, result.error.code, result.error.message);
        return result;
      } catch (error) {
        failSpan(span, errorType(error), String((error as Error)?.message ?? error));
        throw error;
      } finally {
        span.end();
      }
    },

    async modelCall(model, request, call) {
      const attributes: Attributes = {
        'gen_ai.operation.name': 'chat',
        'gen_ai.system': model.provider,
        'gen_ai.provider.name': model.provider,
        'gen_ai.request.model': model.modelId,
      };
      if (request.maxOutputTokens !== undefined)
        attributes['gen_ai.request.max_tokens'] = request.maxOutputTokens;
      if (content) attributes['gen_ai.input.messages'] = cut(JSON.stringify(request.messages));
      return within(tracer(), `chat ${model.modelId}`, SpanKind.CLIENT, attributes, async (span) => {
        const outcome = await call();
        span.setAttributes({
          'gen_ai.response.finish_reasons': [outcome.finishReason],
          ...(outcome.usage === undefined
            ? {}
            : {
                'gen_ai.usage.input_tokens': outcome.usage.input_tokens,
                'gen_ai.usage.output_tokens': outcome.usage.output_tokens,
              }),
        });
        if (content) {
          span.setAttribute(
            'gen_ai.output.messages',
            cut(
              JSON.stringify([{ role: 'assistant', content: outcome.text, tool_calls: outcome.toolCalls }]),
            ),
          );
        }
        return outcome;
      });
    },

    toolCall(provider, call, invoke) {
      const attributes: Attributes = {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': call.name,
        'gen_ai.tool.call.id': call.callId,
        'steward.tool.provider': provider,
      };
      if (content) attributes['gen_ai.tool.call.arguments'] = cut(call.arguments);
      return within(tracer(), `execute_tool ${call.name}`, SpanKind.INTERNAL, attributes, async (span) => {
        const value = await invoke();
        if (content) span.setAttribute('gen_ai.tool.call.result', cut(safeJson(value)));
        return value;
      });
    },
  };
}

/** Runs `work` with a new span active; a throw marks the span failed with the error's code. */
async function within<T>(
  tracer: Tracer,
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const span = tracer.startSpan(name, { kind, attributes });
  try {
    return await otelContext.with(trace.setSpan(otelContext.active(), span), () => work(span));
  } catch (error) {
    failSpan(span, errorType(error), String((error as Error)?.message ?? error));
    throw error;
  } finally {
    span.end();
  }
}

function failSpan(span: Span, type: string, message: string): void {
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

function errorType(error: unknown): string {
  if (isStewardError(error)) return error.code;
  return error instanceof Error ? error.name : 'Error';
}

function cut(text: string): string {
  return text.length <= maxContentChars ? text : `${text.slice(0, maxContentChars)}…`;
}

function safeJson(value: unknown): string {
  try {
    return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');
  } catch {
    return String(value);
  }
}

function originLink(origin: SpanContext): Link {
  return { context: origin, attributes: { 'steward.link.type': 'run_origin' } };
}

const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** @internal A W3C `traceparent` header value for a span, or undefined for a no-op span. */
export function toTraceparent(span: SpanContext): string | undefined {
  if (!trace.isSpanContextValid(span)) return undefined;
  return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * @internal The span context a stored `traceparent` names. Parsed here rather than through the
 * global propagator: that is a no-op until an SDK is installed, and the format is W3C's anyway.
 */
export function parseTraceparent(value: string | undefined): SpanContext | undefined {
  const match = value === undefined ? null : traceparentPattern.exec(value);
  if (match === null) return undefined;
  const [, traceId = '', spanId = '', flags = '00'] = match;
  const parsed: SpanContext = {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  return trace.isSpanContextValid(parsed) ? parsed : undefined;
}
