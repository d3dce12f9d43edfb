import { startGmailServer } from './app.ts';

const port = Number(process.env.PORT ?? 8931);
const gmail = await startGmailServer({ port, host: process.env.HOST ?? '127.0.0.1' });
console.log(
  `gmail mock listening: MCP ${gmail.mcpUrl}, discovery ${gmail.url}/mcp/discover, execute ${gmail.url}/mcp/execute`,
);
const stop = () => gmail.stop().finally(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
