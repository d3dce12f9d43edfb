import type OpenAI from 'openai';
import { z } from 'zod';
import { StewardError } from '../../errors/steward-error.ts';
import { parseOptions } from '../../internal/parse-options.ts';
import type { Embedder } from '../../selection/embedder.ts';
import { openAIClient } from './openai-client.ts';
import type { OpenAIClientLike } from './openai-client-like.ts';
import { toModelError } from './openai-errors.ts';

const optionsSchema = z
  .object({
    model: z.string().min(1).default('text-embedding-3-small'),
    dimensions: z.number().int().positive().max(8_192).default(1_536),
    apiKey: z.string().min(1).optional(),
    baseURL: z.url().optional(),
    client: z
      .custom<OpenAIClientLike>(
        (value) => typeof (value as OpenAIClientLike | undefined)?.embeddings?.create === 'function',
        'must be an OpenAI client',
      )
      .optional(),
    batchSize: z.number().int().positive().max(2_048).default(256),
  })
  .strict();

/** Options of {@link createOpenAIEmbedder}. */
export interface OpenAIEmbedderOptions {
  /** Default `text-embedding-3-small`. */
  model?: string;
  /** Vector length; the API shortens its vectors to it. Default 1,536. */
  dimensions?: number;
  /** Defaults to `OPENAI_API_KEY`. */
  apiKey?: string;
  /** Defaults to `OPENAI_BASE_URL`, then OpenAI's. */
  baseURL?: string;
  /** A ready client from the host's own `openai` package; the key and URL options are then ignored. */
  client?: OpenAIClientLike;
  /** Texts per request. Default 256. */
  batchSize?: number;
}

/**
 * An {@link Embedder} over OpenAI's embeddings API (or a compatible server), for memories and
 * tool selection. Vectors are checked for the promised length.
 */
export function createOpenAIEmbedder(options: OpenAIEmbedderOptions = {}): Embedder {
  const config = parseOptions(optionsSchema, options, 'createOpenAIEmbedder');
  const client = openAIClient('createOpenAIEmbedder', {
    client: config.client,
    apiKey: config.apiKey,
    baseURL: config.baseURL,
    maxRetries: 2,
  });
  return {
    dimensions: config.dimensions,
    async embed(texts, embedOptions) {
      const vectors: number[][] = [];
      for (let start = 0; start < texts.length; start += config.batchSize) {
        const batch = texts.slice(start, start + config.batchSize);
        let response: Awaited<ReturnType<OpenAI['embeddings']['create']>>;
        try {
          response = await client.embeddings.create(
            {
              model: config.model,
              input: [...batch],
              dimensions: config.dimensions,
              encoding_format: 'float',
            },
            embedOptions?.signal === undefined ? {} : { signal: embedOptions.signal },
          );
        } catch (error) {
          throw toModelError(error);
        }
        const ordered = [...response.data].sort((a, b) => a.index - b.index);
        if (
          ordered.length !== batch.length ||
          ordered.some((item) => item.embedding.length !== config.dimensions)
        ) {
          throw new StewardError(
            'model_error',
            `The embeddings API answered ${ordered.length} vectors of the wrong shape`,
          );
        }
        vectors.push(...ordered.map((item) => item.embedding));
      }
      return vectors;
    },
  };
}
