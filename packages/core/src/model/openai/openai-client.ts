import OpenAI from 'openai';
import { StewardError } from '../../errors/steward-error.ts';
import type { OpenAIClientLike } from './openai-client-like.ts';

/** @internal The `openai` client of an adapter: the one given, or one made from key and URL. */
export function openAIClient(
  where: string,
  options: {
    client?: OpenAIClientLike | undefined;
    apiKey?: string | undefined;
    baseURL?: string | undefined;
    maxRetries: number;
  } & Omit<ConstructorParameters<typeof OpenAI>[0] & object, 'apiKey' | 'baseURL' | 'maxRetries'>,
): OpenAI {
  const { client, apiKey, baseURL, maxRetries, ...rest } = options;
  // The options schema checked its shape; the adapters call only what `OpenAIClientLike` names.
  if (client !== undefined) return client as unknown as OpenAI;
  try {
    return new OpenAI({
      ...rest,
      ...(apiKey === undefined ? {} : { apiKey }),
      ...(baseURL === undefined ? {} : { baseURL }),
      maxRetries,
    });
  } catch (error) {
    throw new StewardError(
      'invalid_options',
      `${where}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
