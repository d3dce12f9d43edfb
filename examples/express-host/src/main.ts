import { demoPassword } from '@steward/example-identity-provider';
import { hostOptionsFromEnvironment } from './environment.ts';
import { startExpressHost } from './host.ts';
import { createHostLogger } from './logging.ts';
import { startRemoteExpressHost } from './remote-host.ts';
import { startTelemetry } from './telemetry.ts';
import { runWalkthrough } from './walkthrough.ts';

// Traces over OTLP when the standard OTEL_* variables ask for them (see telemetry.ts).
const telemetry = startTelemetry(process.env, 'steward-express-host');

// `--once`: the headless walkthrough only, then exit (tests and CI). Otherwise the walkthrough
// runs once at startup and the server keeps serving the browser until Ctrl-C.
const once = process.argv.includes('--once');
const port = once ? 0 : Number(process.env.PORT ?? 3000);

const failed = (error: unknown) => {
  const code = (error as { code?: string }).code;
  console.error(
    code === 'EADDRINUSE'
      ? `Port ${port} is in use: set PORT to another one (PORT=3001 npm run demo).`
      : `Could not start the demo: ${error instanceof Error ? error.message : String(error)}`,
  );
  return process.exit(1);
};

const options = (() => {
  try {
    return hostOptionsFromEnvironment(process.env);
  } catch (error) {
    return failed(error);
  }
})();

// Pattern A: with an orchestrator URL, the pages forward to that service and relay its streams;
// the walkthrough (which drives this process's own API) does not apply.
if (options.orchestrator !== undefined) {
  const { orchestrator, ...rest } = options;
  const remote = await startRemoteExpressHost({
    ...rest,
    orchestrator,
    port,
    host: process.env.HOST ?? '127.0.0.1',
  }).catch(failed);
  const browserUrl = remote.url.replace('://127.0.0.1:', '://localhost:');
  console.log(`
Steward express host (pattern A): open ${browserUrl} and sign in${
    remote.identityProvider === undefined
      ? '.'
      : ` as alice, bob or admin (password: ${demoPassword}).\n  sign-in      ${remote.identityProvider.issuer} (the demo's OpenID Connect provider)`
  }
  chat pages   ${browserUrl}/chat (streams relayed from the orchestrator over ${browserUrl.replace(/^http/, 'ws')}/ws)
  orchestrator ${remote.orchestratorUrl} (every request forwarded with a service token for the user)
Ctrl-C stops.`);
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    void remote
      .stop()
      .then(() => telemetry?.shutdown())
      .finally(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
} else {
  await startInProcess();
}

async function startInProcess() {
  const host = await startExpressHost({
    // The walkthrough's own output is the point of --once; a served demo logs as a service does.
    ...(once ? {} : { logger: createHostLogger() }),
    port,
    host: process.env.HOST ?? '127.0.0.1',
    chunkDelayMs: once ? 2 : 20,
    // The address printed below: Gmail's OAuth callback comes back to it, with its session cookie.
    ...(once || process.env.HOST !== undefined ? {} : { publicUrl: `http://localhost:${port}` }),
    ...options,
  }).catch(failed);

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
  gmail mock   ${host.gmail.mcpUrl} (MCP over Streamable HTTP${
    host.connections === undefined
      ? ', service JWTs required)'
      : `; OAuth: each user connects their own mailbox at ${host.gmail.url}, as alice (alice-password) or bob (bob-password))`
  }
Ctrl-C stops.`);

  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    void host
      .stop()
      .then(() => telemetry?.shutdown())
      .finally(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
