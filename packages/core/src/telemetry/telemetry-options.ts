import type { TracerProvider } from '@opentelemetry/api';
import { z } from 'zod';

/**
 * How a package reports spans. Steward depends on `@opentelemetry/api` only: spans go nowhere
 * until the host installs an SDK (e.g. `@opentelemetry/sdk-node`), or passes its own provider.
 */
export interface TelemetryOptions {
  /** Where spans go. Default: the global provider, a no-op until the host registers an SDK. */
  readonly tracerProvider?: TracerProvider | undefined;
  /**
   * Put prompts, completions, tool arguments and tool results on spans (the GenAI semantic
   * conventions' opt-in content attributes). Off by default: they may hold personal data, and
   * whoever reads the traces may not be allowed to see it.
   */
  readonly recordContent?: boolean | undefined;
}

/** @internal */
export const telemetryOptionsSchema = z
  .object({
    tracerProvider: z
      .custom<TracerProvider>(
        (value) => typeof (value as { getTracer?: unknown } | null)?.getTracer === 'function',
        'must be an OpenTelemetry TracerProvider',
      )
      .optional(),
    recordContent: z.boolean().optional(),
  })
  .strict();
