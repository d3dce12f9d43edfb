import { Assistant, defineTool, type StewardEvent } from '@steward/core';
import { createOpenAIModel } from '@steward/core/openai';
import { type MockReply, type MockRequest, startMockOpenAI } from '@steward/testing';
import { z } from 'zod';

/**
 * Plays a model that calls get_weather for the city in the question, then answers from the
 * tool's result: what a real model would do, without a network.
 */
function scriptedWeatherModel(request: MockRequest): MockReply {
  const messages = request.body.messages as { role: string; content?: string | null }[];
  const last = messages.at(-1);
  if (last?.role === 'tool') {
    const weather = JSON.parse(last.content ?? '{}') as { city?: string; celsius?: number; sky?: string };
    return {
      text: `It is ${weather.celsius} °C with ${weather.sky} skies in ${weather.city} right now. A light jacket will do.`,
    };
  }
  const city = /in ([A-Z][a-zA-Z]+)/.exec(last?.content ?? '')?.[1] ?? 'Paris';
  return { text: 'Let me look that up.', toolCalls: [{ name: 'get_weather', arguments: { city } }] };
}

const getWeather = defineTool({
  name: 'get_weather',
  description: 'Current weather for a city',
  input: z.object({ city: z.string().min(1) }),
  execute: async ({ city }) => ({ city, celsius: 18, sky: 'clear' }),
});

/** Runs the quickstart: a real Assistant over HTTP against the bundled mock OpenAI server. */
export async function runDemo(
  options: { question?: string; write?: (text: string) => void; chunkDelayMs?: number } = {},
) {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const mock = await startMockOpenAI({
    reply: scriptedWeatherModel,
    chunkDelayMs: options.chunkDelayMs ?? 25,
  });
  try {
    const assistant = new Assistant({
      model: createOpenAIModel({ model: 'gpt-4.1-mini', baseURL: mock.baseURL, apiKey: 'mock-key' }),
      tools: [getWeather],
      system: 'You are a concise weather assistant.',
    });
    const question = options.question ?? 'What is the weather in Lisbon?';
    write(`you: ${question}\nassistant: `);
    const run = assistant.run({ input: question, userId: 'demo-user' });
    for await (const event of run) write(describe(event));
    return await run.result;
  } finally {
    await mock.close();
  }
}

function describe(event: StewardEvent): string {
  switch (event.type) {
    case 'token':
      return event.text;
    case 'tool_request':
      return `\n  [tool_request] ${event.tool_slug}(${JSON.stringify(event.args)})\n`;
    case 'tool_result':
      return event.error === undefined
        ? `  [tool_result]  ${JSON.stringify(event.result)} in ${event.duration_ms} ms\n  `
        : `  [tool_result]  error ${event.error.code}: ${event.error.message}\n  `;
    case 'error':
      return `\n  [error] ${event.code}: ${event.message}\n`;
    case 'final':
      return `\n[final] stop_reason=${event.stop_reason} tokens=${event.usage.total_tokens} (${event.usage.input_tokens} in, ${event.usage.output_tokens} out)\n`;
    default:
      return '';
  }
}
