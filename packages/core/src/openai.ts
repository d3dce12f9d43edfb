export type { OpenAIClientLike } from './model/openai/openai-client-like.ts';
export { createOpenAIEmbedder, type OpenAIEmbedderOptions } from './model/openai/openai-embedder.ts';
export { createOpenAIModel, type OpenAIModelOptions } from './model/openai/openai-model.ts';
