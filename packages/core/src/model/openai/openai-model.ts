import { z } from 'zod';
import { parseOptions } from '../../internal/parse-options.ts';
import type { LanguageModel, ModelRequest, ModelStreamPart } from '../language-model.ts';
import { type ChatSettings, streamChat } from './chat-stream.ts';
import { openAIClient } from './openai-client.ts';
import type { OpenAIClientLike } from './openai-client-like.ts';
import { streamResponses } from './responses-stream.ts';

const optionsSchema = z
  .object({
    /** The model id, e.g. `gpt-4.1-mini`. */
    model: z.string().min(1),
    /** Which OpenAI API to speak. Compatible servers mostly speak `chat`. */
    api: z.enum(['chat', 'responses']).default('chat'),
    /** Defaults to `OPENAI_API_KEY`, as in the `openai` package. */
    apiKey: z.string().min(1).optional(),
    /** Defaults to `OPENAI_BASE_URL`, then OpenAI's. Point it at any compatible server. */
    baseURL: z.url().optional(),
    organization: z.string().optional(),
    project: z.string().optional(),
    /** Extra headers on every request. */
    headers: z.record(z.string(), z.string()).optional(),
    /** A ready `OpenAI` client (custom fetch, proxies, Azure); the key and URL options are then ignored. */
    client: z
      .custom<OpenAIClientLike>(
        (value) => typeof (value as OpenAIClientLike | undefined)?.chat?.completions?.create === 'function',
        'must be an OpenAI client',
      )
      .optional(),
    parallelToolCalls: z.boolean().default(true),
    temperature: z.number().min(0).max(2).optional(),
    _internal: z
      .object({
        generateId: z.custom<() => string>((value) => typeof value === 'function', 'must be a function'),
      })
      .partial()
      .strict()
      .optional(),
  })
  .strict();

/** Options of {@link createOpenAIModel}. */
export interface OpenAIModelOptions {
  /** The model id, e.g. `gpt-4.1-mini`. */
  model: string;
  /** Which OpenAI API to speak. Default `chat`; compatible servers mostly speak `chat`. */
  api?: 'chat' | 'responses';
  /** Defaults to `OPENAI_API_KEY`, as in the `openai` package. */
  apiKey?: string;
  /** Defaults to `OPENAI_BASE_URL`, then OpenAI's. Point it at any compatible server. */
  baseURL?: string;
  organization?: string;
  project?: string;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /**
   * A ready `OpenAI` client (custom fetch, proxies, Azure), from the host's own `openai` package;
   * the key and URL options are then ignored.
   */
  client?: OpenAIClientLike;
  /** Let the model call several tools at once. Default true. */
  parallelToolCalls?: boolean;
  temperature?: number;
  /** @internal Ids for tool calls a server sent without one, for tests. Default `crypto.randomUUID`. */
  _internal?: { generateId?: () => string };
}

const _options: (value: OpenAIModelOptions) => z.input<typeof optionsSchema> = (value) => value;
void _options;

/**
 * A {@link LanguageModel} over the official `openai` package, streaming Chat Completions or the
 * Responses API. The client's own retries are off: the run loop retries with backoff and stops
 * retrying once output has been shown.
 *
 * @example
 * ```ts
 * const model = createOpenAIModel({ model: 'gpt-4.1-mini' }); // OPENAI_API_KEY from the environment
 * const local = createOpenAIModel({ model: 'llama3', baseURL: 'http://localhost:11434/v1', apiKey: 'unused' });
 * ```
 */
export function createOpenAIModel(options: OpenAIModelOptions): LanguageModel {
  const config = parseOptions(optionsSchema, options, 'createOpenAIModel');
  const client = openAIClient('createOpenAIModel', {
    client: config.client,
    apiKey: config.apiKey,
    baseURL: config.baseURL,
    ...(config.organization === undefined ? {} : { organization: config.organization }),
    ...(config.project === undefined ? {} : { project: config.project }),
    ...(config.headers === undefined ? {} : { defaultHeaders: config.headers }),
    maxRetries: 0,
  });
  const settings: ChatSettings = {
    modelId: config.model,
    parallelToolCalls: config.parallelToolCalls,
    temperature: config.temperature,
    generateId: config._internal?.generateId ?? (() => crypto.randomUUID()),
  };
  const stream = config.api === 'chat' ? streamChat : streamResponses;
  return {
    specificationVersion: 'v1',
    provider: `openai.${config.api}`,
    modelId: config.model,
    doStream: (request: ModelRequest): AsyncIterable<ModelStreamPart> => stream(client, settings, request),
  };
}
