import { NodeSDK } from '@opentelemetry/sdk-node';

/** The OpenTelemetry SDK of a service, or nothing when tracing is off. */
export interface Telemetry {
  /** Flushes the spans still buffered, then stops exporting. */
  shutdown(): Promise<void>;
}

/**
 * Installs the OpenTelemetry Node SDK when the environment asks for traces: an OTLP endpoint
 * (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) or an explicit
 * `OTEL_TRACES_EXPORTER` other than `none`. Everything else (protocol, headers, sampler, service
 * name, batch delay) is the SDK's own reading of the standard `OTEL_*` variables. The Steward
 * packages only use `@opentelemetry/api`: without this, their spans cost next to nothing.
 */
export function startTelemetry(environment: NodeJS.ProcessEnv, serviceName: string): Telemetry | undefined {
  const exporter = environment.OTEL_TRACES_EXPORTER?.trim();
  const endpoint = environment.OTEL_EXPORTER_OTLP_ENDPOINT ?? environment.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (exporter === 'none' || (exporter === undefined && endpoint === undefined)) return undefined;
  // Traces only: metrics are scraped from /metrics (prom-client) and logs go to stdout (pino).
  // The SDK would default both to OTLP when unset, so unset means "none" here.
  environment.OTEL_METRICS_EXPORTER ??= 'none';
  environment.OTEL_LOGS_EXPORTER ??= 'none';
  const sdk = new NodeSDK({ serviceName: environment.OTEL_SERVICE_NAME ?? serviceName });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
