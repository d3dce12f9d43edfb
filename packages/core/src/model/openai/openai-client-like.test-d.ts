// Type test (checked by `tsc --noEmit`): the host's own `openai` client, of another copy or major,
// is accepted. A class with `#private` members stands in for it: TypeScript relates such classes
// only to themselves, which is what broke `client?: OpenAI` for hosts with their own copy.
import OpenAI from 'openai';
import { createOpenAIEmbedder } from './openai-embedder.ts';
import { createOpenAIModel } from './openai-model.ts';

class HostCompletions {
  #calls = 0;
  create(body: { model: string; stream?: boolean }, options?: { signal?: AbortSignal }): Promise<unknown> {
    this.#calls += 1;
    return Promise.resolve({ body, options, calls: this.#calls });
  }
}

class HostOpenAI {
  #apiKey = 'unused';
  readonly chat = { completions: new HostCompletions() };
  readonly responses = { create: (body: { model: string }) => Promise.resolve({ body, key: this.#apiKey }) };
  readonly embeddings = { create: (body: { input: string[] }) => Promise.resolve(body) };
}

createOpenAIModel({ model: 'm', client: new HostOpenAI() });
createOpenAIEmbedder({ client: new HostOpenAI() });
createOpenAIModel({ model: 'm', client: new OpenAI({ apiKey: 'unused' }) });
// @ts-expect-error: not a client
createOpenAIModel({ model: 'm', client: { chat: {} } });
