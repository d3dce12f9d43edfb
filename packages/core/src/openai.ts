export { createOpenAIModel, type OpenAIModelOptions } from './model/openai/openai-model.ts';
