// `npm start -w @steward/example-next-host` (after `next build`; `npm run demo:next` from the root
// builds first): the identity provider, the Gmail mock, the mock model, the orchestrator and the
// Next host, offline. Needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL; local defaults).
import { startStack } from '../src/stack/stack.ts';

const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const stack = await startStack({
  appPort: port('PORT', 3100),
  orchestratorPort: port('ORCHESTRATOR_PORT', 8080),
  identityPort: port('IDENTITY_PORT', 4100),
  ...(process.env.DATABASE_URL === undefined ? {} : { databaseUrl: process.env.DATABASE_URL }),
  ...(process.env.REDIS_URL === undefined ? {} : { redisUrl: process.env.REDIS_URL }),
  onLine: (service, line) => {
    if (process.env.VERBOSE === '1' || /error|warn/i.test(line)) console.log(`[${service}] ${line}`);
  },
});
console.log(`
Steward on Next.js (pattern B) is up, offline:
  Next host      ${stack.appUrl}        sign in as alice, bob or admin (password: steward)
  orchestrator   ${stack.orchestratorUrl}        the browser talks to it directly (CORS for the host only)
  identity       ${stack.identityUrl}        the demo's OpenID Connect provider
  Gmail mock     ${stack.gmail.url}
Try "What's in my inbox?", "Send an email to ada@engine.example saying hello" (Approve or Deny), or "count 200" (Stop, reload).
Ctrl-C stops everything.`);

const shutdown = () => {
  console.log('Stopping…');
  void stack.stop().then(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
