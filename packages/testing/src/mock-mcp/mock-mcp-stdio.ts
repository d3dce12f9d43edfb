#!/usr/bin/env node
// A mock MCP server over stdio, for tests that spawn a server: `node mock-mcp-stdio.js [pageSize]`.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { MockMcpCore } from './mock-mcp-server.ts';

const pageSize = process.argv[2] === undefined ? undefined : Number(process.argv[2]);
const core = new MockMcpCore(pageSize === undefined ? {} : { pageSize });
await core.connect(new StdioServerTransport());
