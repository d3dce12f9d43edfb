import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { parseOptions } from '../internal/parse-options.ts';
import type { ToolDefinition } from '../tools/tool-provider.ts';
import { cosineSimilarity, type Embedder } from './embedder.ts';

/** What a run asks a selector: the whole catalog and the user's turn. */
export interface ToolSelectionRequest {
  readonly tools: readonly ToolDefinition[];
  readonly input: string;
  readonly signal: AbortSignal;
}

/**
 * Picks the slice of a large catalog a run offers the model, so a prompt carries only the
 * schemas it is likely to need (the architecture's "only relevant schema slices").
 */
export interface ToolSelector {
  select(request: ToolSelectionRequest): Promise<readonly ToolDefinition[]>;
}

const optionsSchema = z
  .object({
    embedder: z.custom<Embedder>(
      (value) => typeof (value as Embedder)?.embed === 'function',
      'must be an Embedder',
    ),
    maxTools: z.number().int().positive().default(16),
    pinned: z.array(z.string()).readonly().default([]),
    cacheSize: z.number().int().positive().default(10_000),
  })
  .strict();

/** Options of {@link createEmbeddingToolSelector}. */
export interface EmbeddingToolSelectorOptions {
  embedder: Embedder;
  /** At most this many tools are offered, pinned ones included. Default 16. */
  maxTools?: number;
  /** Model-visible names that are always offered. */
  pinned?: readonly string[];
  /** Tool embeddings kept between runs. Default 10,000. */
  cacheSize?: number;
}

/**
 * Ranks tools by the similarity of their name and description to the user's turn and offers the
 * top `maxTools`, pinned tools always included. Catalogs no larger than `maxTools` pass whole.
 * Tool embeddings are cached by name and description, so a run embeds only its question.
 */
export function createEmbeddingToolSelector(options: EmbeddingToolSelectorOptions): ToolSelector {
  const config = parseOptions(optionsSchema, options, 'createEmbeddingToolSelector');
  const cache = new LRUCache<string, number[]>({ max: config.cacheSize });
  const keyOf = (tool: ToolDefinition) => `${tool.name}\u0000${tool.description}`;

  return {
    async select({ tools, input, signal }) {
      if (tools.length <= config.maxTools) return tools;
      const pinned = tools.filter((tool) => config.pinned.includes(tool.name));
      const candidates = tools.filter((tool) => !config.pinned.includes(tool.name));
      const missing = candidates.filter((tool) => !cache.has(keyOf(tool)));
      const [query, ...fresh] = await config.embedder.embed(
        [input, ...missing.map((tool) => `${tool.name}: ${tool.description}`)],
        { signal },
      );
      for (const [index, tool] of missing.entries()) cache.set(keyOf(tool), fresh[index] ?? []);
      const ranked = candidates
        .map((tool) => ({ tool, score: cosineSimilarity(query ?? [], cache.get(keyOf(tool)) ?? []) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, Math.max(0, config.maxTools - pinned.length))
        .map(({ tool }) => tool);
      return [...pinned, ...ranked];
    },
  };
}
