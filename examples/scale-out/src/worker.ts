// Instance A of the scale-out test: starts a long run, prints its id, and streams until killed.
import { type Shared, sharedStorage, slowAssistant } from './instance.ts';

const shared = JSON.parse(process.env.STEWARD_SHARED ?? '{}') as Shared;
const { storage } = sharedStorage(shared);
const run = slowAssistant(storage, 400, 100).run({
  input: 'count slowly',
  userId: 'ann',
  sessionId: 'scale-out',
});
process.stdout.write(`${run.id}\n`);
await run.result;
