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
  options: {
    signal: AbortSignal;
    /** Whose run lists: providers with per-user catalogs need it. */
    run?: { readonly userId: string; readonly sessionId: string; readonly runId: string };
    warn: (message: string, cause?: unknown) => void;
    /** Narrows a large catalog to the slice this run offers (see `ToolSelector`). */
    select?: (tools: readonly ToolDefinition[]) => Promise<readonly ToolDefinition[]>;
  },
): Promise<ToolCatalog> {
  const listed = await Promise.allSettled(
    providers.map((provider) => provider.listTools({ signal: options.signal, ...options.run })),
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
  if (options.select !== undefined && entries.size > 0) {
    // Only the offered slice is callable: a tool the model was not shown is not run either.
    const offered = new Set(
      (await options.select([...entries.values()].map((entry) => entry.definition))).map((tool) => tool.name),
    );
    for (const name of [...entries.keys()]) if (!offered.has(name)) entries.delete(name);
  }
  const specs = [...entries.values()].map(({ definition }) => ({
    name: definition.name,
    description: definition.description,
    inputSchema: definition.inputSchema,
  }));
  return { specs, get: (name) => entries.get(name) };
}
