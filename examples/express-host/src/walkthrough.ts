import type { FinalEvent, StewardEvent } from '@steward/core';
import { createStewardClient, type StewardClient } from '@steward/transport-ws/client';
import { summarizeResult as summarizeToolResult } from '../public/tool-words.js';
import { connectGmail } from './connect-gmail.ts';
import type { ExpressHost } from './host.ts';

/** The walkthrough's two messages: one read, one side effect. */
export const walkthroughMessages = {
  read: "What's in my inbox?",
  send: 'Send an email to ada@engine.example saying the quarterly report is ready.',
} as const;

/** What {@link runWalkthrough} saw. */
export interface WalkthroughResult {
  /** Both runs ended with `stop`, and exactly one email was sent, after the approval. */
  readonly ok: boolean;
  readonly sentBeforeApproval: number;
  readonly sentAfterApproval: number;
}

function describe(event: StewardEvent): string {
  switch (event.type) {
    case 'token':
      return event.text.replaceAll('\n', '\n  ');
    case 'tool_request':
      return `\n  → tool_request ${event.tool_slug} ${JSON.stringify(event.args)} (${event.require_confirmation ? 'side effect: needs approval' : 'read-only: runs at once'})\n`;
    case 'approval_resolved':
      return `  ✓ approval_resolved ${event.tool_slug}: ${event.decision}\n`;
    case 'tool_result': {
      const lines = event.error === undefined ? summarizeToolResult(event.result) : [event.error.message];
      return `  ← tool_result ${event.tool_slug} in ${event.duration_ms} ms: ${lines.join('\n      ')}\n  `;
    }
    case 'error':
      return `\n  [error] ${event.code}: ${event.message}\n`;
    case 'final':
      return `\n  [final] stop_reason=${event.stop_reason}, ${event.usage.total_tokens} tokens\n`;
    default:
      return '';
  }
}

/**
 * One scripted conversation through the HTTP API and the WebSocket, as any client would drive
 * it with `createStewardClient`: "What's in my inbox?" (the read-only fetch runs at once), then a
 * send request that pauses for approval, is approved, and sends exactly one email.
 */
export async function runWalkthrough(
  host: Pick<ExpressHost, 'url' | 'userToken' | 'gmail' | 'registry' | 'connections'>,
  write: (text: string) => void = (text) => process.stdout.write(text),
  options: { userId?: string } = {},
): Promise<WalkthroughResult> {
  const userId = options.userId ?? 'demo';
  const client = createStewardClient({ url: host.url, token: await host.userToken(userId) });
  const sent = () => host.gmail.mailbox.sent.length;
  write(`── walkthrough: user "${userId}" through ${host.url}/api/v1 and /ws ──\n`);
  if (host.connections !== undefined) {
    // Gmail is per user over OAuth: with no browser here, the walkthrough consents at the mock's
    // pages itself (in the pages, "What's in my inbox?" asks the user to connect first).
    await connectGmail(host.registry, userId, 'alice');
    write(`  [gmail mock] "${userId}" connected alice's mailbox (sign-in and consent at the mock's pages)\n`);
  }

  const first = await converse(client, walkthroughMessages.read, undefined, write, async () => {});
  let sentBeforeApproval = -1;
  const second = await converse(
    client,
    walkthroughMessages.send,
    first.sessionId,
    write,
    async (runId, event) => {
      sentBeforeApproval = sent();
      write(`  ? approval_required ${event.tool_slug}: ${event.reason}\n`);
      write(`  [gmail mock] emails sent before approval: ${sentBeforeApproval}\n`);
      write('  … the user clicks Approve (POST /api/v1/runs/:run_id/approvals)\n');
      await client.approve(runId, event.call_id);
    },
  );
  const sentAfterApproval = sent();
  write(`  [gmail mock] emails sent after approval: ${sentAfterApproval}\n`);
  const ok =
    first.final?.stop_reason === 'stop' &&
    second.final?.stop_reason === 'stop' &&
    sentBeforeApproval >= 0 &&
    sentAfterApproval === sentBeforeApproval + 1;
  write(`── walkthrough ${ok ? 'done' : 'FAILED'} ──\n`);
  return { ok, sentBeforeApproval, sentAfterApproval };
}

async function converse(
  client: StewardClient,
  input: string,
  sessionId: string | undefined,
  write: (text: string) => void,
  onApproval: (runId: string, event: Extract<StewardEvent, { type: 'approval_required' }>) => Promise<void>,
): Promise<{ sessionId: string; final: FinalEvent | undefined }> {
  write(`\nyou: ${input}\nassistant: `);
  const started = await client.respond(input, sessionId === undefined ? {} : { sessionId });
  let final: FinalEvent | undefined;
  for await (const event of client.stream(started.runId)) {
    write(describe(event));
    if (event.type === 'approval_required') await onApproval(started.runId, event);
    if (event.type === 'final') final = event;
  }
  return { sessionId: started.sessionId, final };
}
