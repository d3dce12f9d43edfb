// Needs `@modelcontextprotocol/sdk` (an optional peer dependency): only this subpath and
// `./mock-mcp-stdio` load it.
export {
  type MockMcpServer,
  type MockMcpServerOptions,
  startMockMcpServer,
} from './mock-mcp/mock-mcp-server.ts';
export { defaultMockTools, type MockMcpTool, type MockToolExtra } from './mock-mcp/mock-mcp-tools.ts';
