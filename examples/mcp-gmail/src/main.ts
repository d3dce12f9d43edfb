import { startGmailServer } from './app.ts';
import { authFromEnvironment } from './service-auth.ts';

const port = Number(process.env.PORT ?? 8931);
const auth = authFromEnvironment(process.env);
const gmail = await startGmailServer({
  port,
  host: process.env.HOST ?? '127.0.0.1',
  ...(auth === undefined ? {} : { auth }),
});
console.log(
  `gmail mock listening: MCP ${gmail.mcpUrl}, discovery ${gmail.url}/mcp/discover, execute ${gmail.url}/mcp/execute`,
);
console.log(
  auth === undefined
    ? 'no GMAIL_MCP_JWT_SECRET or GMAIL_MCP_JWKS_URL: open to any caller (local development only)'
    : `service JWTs required: issuer ${auth.issuer}, audience ${auth.audience ?? gmail.url} (set GMAIL_MCP_JWT_AUDIENCE to the origin Steward calls, when it differs)`,
);
const stop = () => gmail.stop().finally(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
