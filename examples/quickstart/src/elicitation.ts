import { fileURLToPath } from 'node:url';
import { Assistant } from '@steward/core';
import { createScriptedModel } from '@steward/core/testing';
import { createMcpRegistry } from '@steward/mcp';

// An MCP server whose tool asks the user where to sit (src/desk-server.ts, over stdio).
const registry = createMcpRegistry({
  servers: [
    {
      name: 'desk',
      transport: 'stdio',
      command: process.execPath,
      args: [fileURLToPath(new URL('./desk-server.ts', import.meta.url))],
      readOnlyTools: ['suggest_desk'],
    },
  ],
});
// A scripted model stands in for a real one: it calls the tool, then answers.
const assistant = new Assistant({
  model: createScriptedModel([
    { toolCalls: [{ name: 'desk__suggest_desk', arguments: {} }] },
    { text: 'Done.' },
  ]),
  tools: [registry],
});

const run = assistant.run({ input: 'Find me a desk', userId: 'ann' });
for await (const event of run) {
  if (event.type === 'input_required' && event.mode === 'form') {
    console.log(
      `${event.server} asks: ${event.message}`,
      Object.keys(event.requested_schema?.properties ?? {}),
    );
    // A UI renders the form here. The answer is checked against it (defaults filled in) first:
    // { floor: 9 } would be refused with invalid_input, and the request would stay open.
    const answer = { action: 'accept', content: { floor: 3 } } as const;
    await assistant.respondToInput(run.id, event.request_id, answer, { userId: 'ann' });
  }
  if (event.type === 'input_resolved') console.log(`answered: ${event.action}`);
  if (event.type === 'tool_result') console.log(`the tool says: ${String(event.result)}`);
}
await registry.close();
