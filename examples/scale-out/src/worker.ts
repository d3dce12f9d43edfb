// Instance A of the scale-out tests: starts a run, prints its id, and works on it until killed.
// STEWARD_SCENARIO=approval: the run asks to send an email and waits for the user's approval.
import { mailAssistant, type Shared, sharedStorage, slowAssistant } from './instance.ts';

const shared = JSON.parse(process.env.STEWARD_SHARED ?? '{}') as Shared;
const { storage } = sharedStorage(shared);
const assistant =
  process.env.STEWARD_SCENARIO === 'approval'
    ? mailAssistant(storage, shared, [
        { toolCalls: [{ name: 'send_email', args: { to: 'bob@example.com' }, callId: 'scale-call' }] },
      ]).assistant
    : slowAssistant(storage, 400, 100);
const run = assistant.run({
  input: process.env.STEWARD_SCENARIO === 'approval' ? 'mail bob' : 'count slowly',
  userId: 'ann',
  sessionId: process.env.STEWARD_SCENARIO === 'approval' ? 'scale-out-approval' : 'scale-out',
});
process.stdout.write(`${run.id}\n`);
await run.result;
