import { demoPassword } from '@steward/example-identity-provider';
import { hostOptionsFromEnvironment } from './environment.ts';
import { startExpressHost } from './host.ts';
import { runWalkthrough } from './walkthrough.ts';

// `--once`: the headless walkthrough only, then exit (tests and CI). Otherwise the walkthrough
// runs once at startup and the server keeps serving the browser until Ctrl-C.
const once = process.argv.includes('--once');
const port = once ? 0 : Number(process.env.PORT ?? 3000);

const host = await Promise.resolve()
  .then(() =>
    startExpressHost({
      port,
      host: process.env.HOST ?? '127.0.0.1',
      chunkDelayMs: once ? 2 : 20,
      ...hostOptionsFromEnvironment(process.env),
    }),
  )
  .catch((error: unknown) => {
    const code = (error as { code?: string }).code;
    console.error(
      code === 'EADDRINUSE'
        ? `Port ${port} is in use: set PORT to another one (PORT=3001 npm run demo).`
        : `Could not start the demo: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  });

const result = await runWalkthrough(host);
if (once) {
  await host.stop();
  process.exit(result.ok ? 0 : 1);
}

const browserUrl = host.url.replace('://127.0.0.1:', '://localhost:');
console.log(`
Steward express host: open ${browserUrl} and sign in${
  host.identityProvider === undefined
    ? '.'
    : ` as alice, bob or admin (password: ${demoPassword}).\n  sign-in      ${host.identityProvider.issuer} (the demo's OpenID Connect provider)`
}
  chat pages   ${browserUrl}/chat (server-rendered, streams over ${browserUrl.replace(/^http/, 'ws')}/ws)
  API          ${browserUrl}/api/v1 (JWT; run tokens for the page's streams)
  mock model   ${host.model.baseURL} (scripted: reads and sends mail through the tools)
  gmail mock   ${host.gmail.mcpUrl} (MCP over Streamable HTTP, service JWTs required)
Ctrl-C stops.`);

let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  void host.stop().finally(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
