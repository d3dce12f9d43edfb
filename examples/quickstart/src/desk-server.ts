import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

/**
 * A small MCP server for the elicitation example (docs/mcp.md): before it suggests a desk, its
 * tool asks the user which floor and whether it should be quiet.
 */
const server = new McpServer({ name: 'desk', version: '1.0.0' });

server.registerTool(
  'suggest_desk',
  { title: 'Suggest a desk', description: 'Suggests a free desk, asking the user where', inputSchema: {} },
  async (_args, extra) => {
    const answer = await server.server.elicitInput(
      {
        message: 'Where would you like to sit?',
        requestedSchema: {
          type: 'object',
          properties: {
            floor: { type: 'integer', title: 'Floor', minimum: 1, maximum: 5 },
            quiet: { type: 'boolean', title: 'Quiet zone', default: true },
          },
          required: ['floor'],
        },
      },
      // About this call: over Streamable HTTP it travels on the call's own response stream.
      { relatedRequestId: extra.requestId },
    );
    if (answer.action !== 'accept')
      return { content: [{ type: 'text', text: `No desk: the user chose ${answer.action}.` }] };
    const { floor, quiet } = answer.content as { floor: number; quiet: boolean };
    return {
      content: [{ type: 'text', text: `Desk ${floor}.${quiet ? '07 (quiet zone)' : '12'} is free.` }],
    };
  },
);

await server.connect(new StdioServerTransport());
