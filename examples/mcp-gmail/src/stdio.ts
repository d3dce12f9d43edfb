// The Gmail mock as an MCP server over stdio: `node src/stdio.ts`.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { Mailbox } from './mailbox.ts';
import { createGmailMcpServer } from './mcp-server.ts';

await createGmailMcpServer(new Mailbox()).connect(new StdioServerTransport());
