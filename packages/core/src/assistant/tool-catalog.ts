import type { ModelToolSpec } from '../model/language-model.ts';
import type { ToolDefinition, ToolProvider } from '../tools/tool-provider.ts';
import type { ResolvedRunOptions } from './assistant-options.ts';

/** @internal One tool of a run's catalog and the provider that serves it. */
export interface CatalogEntry {
  readonly provider: ToolProvider;
  readonly definition: ToolDefinition;
}

/** @internal The tools one run offers the model: listed once, so the run sees one consistent catalog. */
export interface ToolCatalog {
  readonly specs: readonly ModelToolSpec[];
  get(name: string): CatalogEntry | undefined;
}

/**
 * @internal Lists every provider concurrently. A provider that fails to list is reported and
 * left out, so a server that is down does not fail runs that do not need it.
 */
export async function loadToolCatalog(
  providers: readonly ToolProvider[],
  overrides: ResolvedRunOptions['toolOverrides'],
  options: { signal: AbortSignal; warn: (message: string, cause?: unknown) => void },
): Promise<ToolCatalog> {
  const listed = await Promise.allSettled(
    providers.map((provider) => provider.listTools({ signal: options.signal })),
  );
  const allow = overrides?.allow === undefined ? undefined : new Set(overrides.allow);
  const deny = new Set(overrides?.deny ?? []);
  const entries = new Map<string, CatalogEntry>();
  listed.forEach((outcome, index) => {
    const provider = providers[index] as ToolProvider;
    if (outcome.status === 'rejected') {
      options.warn(
        `Tool provider "${provider.name}" could not list its tools; its tools are not offered`,
        outcome.reason,
      );
      return;
    }
    for (const definition of outcome.value) {
      if (allow !== undefined && !allow.has(definition.name)) continue;
      if (deny.has(definition.name)) continue;
      if (entries.has(definition.name)) {
        options.warn(
          `Tool "${definition.name}" of provider "${provider.name}" is shadowed by an earlier provider's tool`,
        );
        continue;
      }
      entries.set(definition.name, { provider, definition });
    }
  });
  const specs = [...entries.values()].map(({ definition }) => ({
    name: definition.name,
    description: definition.description,
    inputSchema: definition.inputSchema,
  }));
  return { specs, get: (name) => entries.get(name) };
}
