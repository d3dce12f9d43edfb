// npm run bench: Steward against the raw `openai` package doing the same work, in one run.
// Prints a table and writes bench/results/latest.json.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Assistant, defineTool } from '@steward/core';
import { createOpenAIModel } from '@steward/core/openai';
import OpenAI from 'openai';
import { z } from 'zod';
import { websocketFanOut } from './fanout.ts';
import { mcpRoundTrip, toolSelection } from './mcp.ts';
import { perTokenOverhead } from './overhead.ts';
import { redisRunStream } from './redis.ts';
import { replayMemory } from './replay.ts';
import { median } from './stats.ts';

const iterations = Number(process.env.BENCH_ITERATIONS ?? 30);
const warmup = Number(process.env.BENCH_WARMUP ?? 5);

const child = spawn(process.execPath, [new URL('./mock-server.ts', import.meta.url).pathname], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const baseURL = await new Promise<string>((resolve, reject) => {
  child.once('error', reject);
  createInterface({ input: child.stdout }).once('line', resolve);
});

const apiKey = 'bench';
const client = new OpenAI({ apiKey, baseURL, maxRetries: 0 });
const lookup = (args: { key: string; limit: number }) => ({
  key: args.key,
  values: Array.from({ length: args.limit }, (_v, i) => i),
});
const lookupTool = defineTool({
  name: 'lookup',
  description: 'Looks a key up',
  input: z.object({ key: z.string(), limit: z.number().int() }),
  execute: lookup,
});
const chatAssistant = new Assistant({
  model: createOpenAIModel({ model: 'bench', baseURL, apiKey }),
  tools: [lookupTool],
});
const responsesAssistant = new Assistant({
  model: createOpenAIModel({ model: 'bench', api: 'responses', baseURL, apiKey }),
});
const lookupSchema = z.toJSONSchema(z.object({ key: z.string(), limit: z.number().int() }), { io: 'input' });

async function rawChatStream(prompt: string): Promise<string> {
  const stream = await client.chat.completions.create({
    model: 'bench',
    messages: [{ role: 'user', content: prompt }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  return text;
}

async function rawResponsesStream(prompt: string): Promise<string> {
  const stream = await client.responses.create({ model: 'bench', input: prompt, stream: true });
  let text = '';
  for await (const event of stream) if (event.type === 'response.output_text.delta') text += event.delta;
  return text;
}

async function rawToolLoop(): Promise<string> {
  type Message = OpenAI.Chat.Completions.ChatCompletionMessageParam;
  const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
    {
      type: 'function',
      function: { name: 'lookup', description: 'Looks a key up', parameters: lookupSchema },
    },
  ];
  const messages: Message[] = [{ role: 'user', content: 'tool please' }];
  let text = '';
  for (let step = 0; step < 3; step++) {
    const stream = await client.chat.completions.create({
      model: 'bench',
      messages,
      tools,
      stream: true,
      stream_options: { include_usage: true },
    });
    const calls: { id: string; name: string; arguments: string }[] = [];
    let content = '';
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta;
      content += delta?.content ?? '';
      for (const part of delta?.tool_calls ?? []) {
        calls[part.index] ??= { id: '', name: '', arguments: '' };
        const call = calls[part.index] as { id: string; name: string; arguments: string };
        if (part.id) call.id = part.id;
        if (part.function?.name) call.name += part.function.name;
        if (part.function?.arguments) call.arguments += part.function.arguments;
      }
    }
    text += content;
    if (calls.length === 0) return text;
    messages.push({
      role: 'assistant',
      content: null,
      tool_calls: calls.map((call) => ({
        id: call.id,
        type: 'function',
        function: { name: call.name, arguments: call.arguments },
      })),
    });
    for (const call of calls) {
      const result = lookup(JSON.parse(call.arguments));
      messages.push({ role: 'tool', tool_call_id: call.id, content: JSON.stringify(result) });
    }
  }
  return text;
}

async function stewardRun(assistant: Assistant, input: string): Promise<string> {
  const run = assistant.run({ input, userId: 'bench' });
  let text = '';
  for await (const event of run) if (event.type === 'token') text += event.text;
  const result = await run.result;
  if (result.stopReason !== 'stop')
    throw new Error(`Steward run ended with ${result.stopReason}: ${result.error?.message}`);
  return text;
}

interface Scenario {
  name: string;
  steward: () => Promise<string>;
  baseline: () => Promise<string>;
}

const scenarios: Scenario[] = [
  {
    name: 'chat: stream 2,000 tokens',
    steward: () => stewardRun(chatAssistant, 'stream:2000'),
    baseline: () => rawChatStream('stream:2000'),
  },
  {
    name: 'responses: stream 2,000 tokens',
    steward: () => stewardRun(responsesAssistant, 'stream:2000'),
    baseline: () => rawResponsesStream('stream:2000'),
  },
  {
    name: 'chat: one-tool loop (call, result, 200-token answer)',
    steward: () => stewardRun(chatAssistant, 'tool please'),
    baseline: rawToolLoop,
  },
];

async function time(work: () => Promise<string>): Promise<number> {
  const started = performance.now();
  const text = await work();
  const elapsed = performance.now() - started;
  if (text.length === 0) throw new Error('a bench run produced no text');
  return elapsed;
}

const results = [];
try {
  for (const scenario of scenarios) {
    const stewardTimes: number[] = [];
    const baselineTimes: number[] = [];
    for (let index = 0; index < warmup + iterations; index++) {
      // Alternate which side goes first so drift in the machine's load hits both alike.
      const order = index % 2 === 0 ? ['steward', 'baseline'] : ['baseline', 'steward'];
      for (const side of order) {
        globalThis.gc?.();
        const elapsed = await time(side === 'steward' ? scenario.steward : scenario.baseline);
        if (index >= warmup) (side === 'steward' ? stewardTimes : baselineTimes).push(elapsed);
      }
    }
    const stewardMs = median(stewardTimes);
    const baselineMs = median(baselineTimes);
    results.push({
      name: scenario.name,
      steward_ms: Number(stewardMs.toFixed(2)),
      baseline_ms: Number(baselineMs.toFixed(2)),
      ratio: Number((stewardMs / baselineMs).toFixed(3)),
    });
  }
} finally {
  child.kill('SIGTERM');
}

results.push(await mcpRoundTrip(iterations * 10));
const selection = await toolSelection(iterations * 5);
const overhead = await perTokenOverhead(iterations * 5);
const redis = await redisRunStream(iterations * 100);
const fanOutSessions = Number(process.env.BENCH_SESSIONS ?? 1000);
const fanOut = [await websocketFanOut(fanOutSessions, 500), await websocketFanOut(fanOutSessions, 500, 25)];
const replay = await replayMemory(Number(process.env.BENCH_REPLAY_READERS ?? 12)).catch((error: unknown) => {
  console.log(`\nThe replay scenario needs PostgreSQL: skipped (${(error as Error).message})`);
  return undefined;
});

console.log(
  '\nSteward vs raw openai and the MCP SDK client (medians; the model server runs in its own process)\n',
);
console.table(results);
console.log('\nTool selection over a 1,000-tool catalog (20 servers, hash embedder, top 16)\n');
console.table([selection]);
console.log("\nSteward's own cost per token (no HTTP, no JSON: a model yielding from memory)\n");
console.table([overhead]);
if (redis === undefined) console.log('\nRedis is not reachable: the run-stream scenario was skipped.');
else {
  console.log('\nRun events through Redis: run store (atomic append + tail) vs raw XADD/XREAD\n');
  console.table([redis]);
}
for (const run of fanOut) {
  console.log(
    `\nWebSocket fan-out: ${run.sessions} concurrent sessions x ${run.tokens_per_session} tokens, ${
      run.pace_ms === 0 ? 'the model as fast as it goes' : `the model pacing ${run.pace_ms} ms per token`
    } (one server process vs the in-process run() iterator)\n`,
  );
  console.table(run.rows);
  console.log('ratios (websocket / in-process):', run.ratios);
}
if (replay !== undefined) {
  console.log(
    `\nReplay memory: ${replay.idle_readers} idle WebSocket readers of one finished ${replay.run_mb} MB run in PostgreSQL (server RSS per reader, and against the run's size)\n`,
  );
  console.table([replay]);
}
const worst = Math.max(...results.map((result) => result.ratio));
console.log(`worst ratio ${worst.toFixed(3)} (target <= 1.10): ${worst <= 1.1 ? 'met' : 'NOT met'}`);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/latest.json', import.meta.url),
  `${JSON.stringify({ node: process.version, iterations, warmup, scenarios: results, selection, overhead, redis: redis ?? null, fanOut, replay: replay ?? null }, null, 2)}\n`,
);
