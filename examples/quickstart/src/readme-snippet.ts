import { Assistant, defineTool } from '@steward/core';
import { createOpenAIModel } from '@steward/core/openai';
import { z } from 'zod';

const getWeather = defineTool({
  name: 'get_weather',
  description: 'Current weather for a city',
  input: z.object({ city: z.string() }),
  execute: async ({ city }) => ({ city, celsius: 21 }),
});

const assistant = new Assistant({
  model: createOpenAIModel({ model: 'gpt-4.1-mini' }), // OPENAI_API_KEY, OPENAI_BASE_URL
  tools: [getWeather],
  system: 'You are a concise assistant.',
});

const run = assistant.run({ input: 'Weather in Paris?', userId: 'user-1' });
for await (const event of run) {
  if (event.type === 'token') process.stdout.write(event.text);
  if (event.type === 'tool_request') console.log(`\n→ ${event.tool_slug}`, event.args);
}
const { stopReason, usage } = await run.result;
console.log(`\n${stopReason}, ${usage.total_tokens} tokens`);
