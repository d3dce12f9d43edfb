// MCP scenarios of `npm run bench`: the registry's round-trip overhead against the SDK client
// calling the same server directly, and tool selection over a 1,000-tool catalog.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createEmbeddingToolSelector, createHashEmbedder, type ToolDefinition } from '@steward/core';
import { createMcpRegistry } from '@steward/mcp';
import { startMockMcpServer } from '@steward/testing/mock-mcp';
import { median } from './stats.ts';

export interface ScenarioResult {
  name: string;
  steward_ms: number;
  baseline_ms: number;
  ratio: number;
}

/** One echo call through the registry vs through a bare SDK client, alternating, same server. */
export async function mcpRoundTrip(iterations: number): Promise<ScenarioResult> {
  const server = await startMockMcpServer();
  const registry = createMcpRegistry({
    servers: [{ name: 'mock', transport: 'streamable-http', url: server.url }],
  });
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
  await registry.ready();
  const context = {
    signal: new AbortController().signal,
    runId: 'bench',
    sessionId: 'bench',
    userId: 'bench',
    callId: 'bench',
    reportProgress: () => {},
  };
  const steward: number[] = [];
  const baseline: number[] = [];
  try {
    for (let index = 0; index < iterations + 20; index++) {
      let started = performance.now();
      await registry.callTool('mock__echo', { text: 'ping' }, context);
      const stewardMs = performance.now() - started;
      started = performance.now();
      await client.callTool({ name: 'echo', arguments: { text: 'ping' } });
      const baselineMs = performance.now() - started;
      if (index >= 20) {
        steward.push(stewardMs);
        baseline.push(baselineMs);
      }
    }
  } finally {
    await client.close();
    await registry.close();
    await server.close();
  }
  const stewardMs = median(steward);
  const baselineMs = median(baseline);
  return {
    name: 'mcp: tool call round trip (registry vs SDK client)',
    steward_ms: Number(stewardMs.toFixed(3)),
    baseline_ms: Number(baselineMs.toFixed(3)),
    ratio: Number((stewardMs / baselineMs).toFixed(3)),
  };
}

/** Selection over 1,000 tools from 20 servers: latency, and prompt tokens saved. */
export async function toolSelection(iterations: number) {
  const areas = [
    'mail',
    'calendar',
    'files',
    'tickets',
    'billing',
    'chat',
    'wiki',
    'crm',
    'deploys',
    'metrics',
  ];
  const actions = [
    'list',
    'get',
    'create',
    'update',
    'delete',
    'search',
    'archive',
    'share',
    'export',
    'import',
  ];
  const tools: ToolDefinition[] = [];
  for (let server = 0; server < 20; server++) {
    for (let index = 0; index < 50; index++) {
      const area = areas[(server + index) % areas.length] as string;
      const action = actions[index % actions.length] as string;
      tools.push({
        name: `srv${server}__${action.toUpperCase()}_${area.toUpperCase()}_${index}`,
        description: `${action} ${area} records on server ${server}; supports filters, paging and sorting`,
        inputSchema: {
          type: 'object',
          properties: {
            query: { type: 'string' },
            limit: { type: 'integer', minimum: 1, maximum: 100 },
            cursor: { type: 'string' },
          },
          required: ['query'],
        },
        sideEffect: action !== 'list' && action !== 'get' && action !== 'search',
      });
    }
  }
  const selector = createEmbeddingToolSelector({ embedder: createHashEmbedder(), maxTools: 16 });
  const signal = new AbortController().signal;
  let started = performance.now();
  const first = await selector.select({ tools, input: 'search my calendar for meetings next week', signal });
  const coldMs = performance.now() - started;
  const warm: number[] = [];
  for (let index = 0; index < iterations; index++) {
    started = performance.now();
    await selector.select({ tools, input: `find billing records for customer ${index}`, signal });
    warm.push(performance.now() - started);
  }
  const tokens = (list: readonly ToolDefinition[]) =>
    Math.ceil(
      JSON.stringify(
        list.map((tool) => ({
          type: 'function',
          function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
        })),
      ).length / 4,
    );
  return {
    tools: tools.length,
    offered: first.length,
    cold_ms: Number(coldMs.toFixed(2)),
    warm_median_ms: Number(median(warm).toFixed(3)),
    prompt_tokens_all_tools: tokens(tools),
    prompt_tokens_selected: tokens(first),
    prompt_tokens_saved: tokens(tools) - tokens(first),
  };
}
