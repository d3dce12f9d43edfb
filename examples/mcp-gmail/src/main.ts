import { startGmailServer } from './app.ts';
import { authModeFromEnvironment, dnsRebindingFromEnvironment } from './environment.ts';

const port = Number(process.env.PORT ?? 8931);
const auth = authModeFromEnvironment(process.env);
const gmail = await startGmailServer({
  port,
  host: process.env.HOST ?? '127.0.0.1',
  ...(auth === undefined ? {} : { auth }),
  ...dnsRebindingFromEnvironment(process.env),
});
console.log(
  `gmail mock listening: MCP ${gmail.mcpUrl}, discovery ${gmail.url}/mcp/discover, execute ${gmail.url}/mcp/execute`,
);
if (auth === undefined) {
  console.log(
    'no GMAIL_MCP_JWT_SECRET, GMAIL_MCP_JWKS_URL or GMAIL_MCP_OAUTH: open to any caller (local development only)',
  );
} else if ('oauth' in auth) {
  const { config, resourceMetadataUrl } = gmail.oauth ?? {};
  console.log(
    `OAuth access tokens required: authorization server ${config?.issuer}, resource ${config?.resource}, metadata ${resourceMetadataUrl}`,
  );
  console.log(
    `demo users: ${config?.users.map((user) => user.username).join(', ')} (passwords in the README)`,
  );
} else {
  console.log(
    `service JWTs required: issuer ${auth.issuer}, audience ${auth.audience ?? gmail.url} (set GMAIL_MCP_JWT_AUDIENCE to the origin Steward calls, when it differs)`,
  );
}
const stop = () => gmail.stop().finally(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
