import { describe, expect, it } from 'vitest';
import { createInMemoryCoordinator } from '../coordination/in-memory-coordinator.ts';
import { StewardError } from '../errors/steward-error.ts';
import type { StewardEvent } from '../events/stream-event.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import type { Storage } from '../storage/storage.ts';
import { createScriptedModel, type ScriptedStep } from '../testing/scripted-model.ts';
import type { ToolDefinition, ToolProvider } from '../tools/tool-provider.ts';
import { Assistant } from './assistant.ts';
import type { Run } from './run.ts';
import { gate, manualClock } from './test-helpers.ts';

const secretUrl = 'https://auth.example/authorize?state=s3cr3t-state&client_id=steward';

/**
 * A per-user mail server, as the MCP registry presents one: `mail__inbox` is listed always,
 * `mail__read` only once the user connected; a call of a user who has not connected rejects
 * with `authorization_required` (a fresh authorization each time), and does nothing.
 */
function mailProvider(
  clock: { iso: (offsetMs?: number) => string },
  options: { sideEffect?: boolean; url?: string } = {},
) {
  const connected = new Set<string>();
  const ran: string[] = [];
  let refusals = 0;
  const tool = (name: string): ToolDefinition => ({
    name,
    description: name,
    inputSchema: { type: 'object', properties: {} },
    sideEffect: options.sideEffect ?? false,
  });
  const provider: ToolProvider = {
    name: 'mail',
    async listTools(context) {
      const userId = context?.userId;
      return userId !== undefined && connected.has(userId)
        ? [tool('mail__inbox'), tool('mail__read')]
        : [tool('mail__inbox')];
    },
    async callTool(name, _args, context) {
      if (!connected.has(context.userId)) {
        refusals++;
        throw new StewardError('authorization_required', `Connect mail first: ${secretUrl}`, {
          details: {
            server: 'mail',
            authorizationUrl: options.url ?? secretUrl,
            state: 's3cr3t-state',
            expiresAt: clock.iso(10 * 60_000),
            scopes: ['mail.read'],
          },
        });
      }
      ran.push(`${context.userId}:${name}`);
      return { messages: 201 };
    },
  };
  return {
    provider,
    ran,
    connect: (userId: string) => connected.add(userId),
    refusals: () => refusals,
  };
}

const inboxCall: ScriptedStep = { toolCalls: [{ name: 'mail__inbox', args: {}, callId: 'c-inbox' }] };

async function untilPaused(assistant: Assistant, runId: string) {
  let required: StewardEvent | undefined;
  for await (const event of assistant.streamRun(runId, { userId: 'ann' })) {
    if (event.type === 'authorization_required') {
      required = event;
      break;
    }
  }
  await expect
    .poll(async () => (await assistant.getRun(runId, { userId: 'ann' }))?.status)
    .toBe('awaiting_approval');
  return required;
}

describe('Assistant: a call pauses until the user connects its server', () => {
  it('pauses with a durable record, runs the call once connected, and never shows the model the URL', async () => {
    const clock = manualClock();
    const mail = mailProvider(clock);
    const model = createScriptedModel([inboxCall, { text: 'You have 201 emails.' }]);
    const assistant = new Assistant({
      model,
      tools: [mail.provider],
      limits: { approvalPollMs: 10 },
      _internal: { now: clock.now },
    });
    const run = await assistant.start({ input: 'Inbox?', userId: 'ann' });
    const required = await untilPaused(assistant, run.id);
    expect(required).toMatchObject({
      type: 'authorization_required',
      call_id: 'c-inbox',
      tool_slug: 'mail__inbox',
      server: 'mail',
      authorization_url: secretUrl,
      expires_at: clock.iso(10 * 60_000),
      scopes: ['mail.read'],
    });
    const [record] = await assistant.storage.listApprovals(run.id, { userId: 'ann' });
    expect(record).toMatchObject({
      callId: 'c-inbox',
      kind: 'authorization',
      status: 'pending',
      server: 'mail',
      authorizationUrl: secretUrl,
    });
    // Consent decisions do not apply to it.
    await expect(assistant.approve('c-inbox', { userId: 'ann' })).rejects.toMatchObject({
      code: 'approval_not_found',
    });
    // Another user cannot complete it.
    await expect(
      assistant.completeAuthorization({
        runId: run.id,
        callId: 'c-inbox',
        userId: 'bob',
        outcome: 'connected',
      }),
    ).rejects.toMatchObject({ code: 'approval_not_found' });

    mail.connect('ann');
    await assistant.completeAuthorization({
      runId: run.id,
      callId: 'c-inbox',
      userId: 'ann',
      outcome: 'connected',
    });
    const result = await run.result;
    expect(result.stopReason).toBe('stop');
    expect(mail.ran).toEqual(['ann:mail__inbox']);
    const events = await assistant.getRunEvents(run.id, { userId: 'ann' });
    const types = events.map((event) => event.type);
    expect(types).toContain('authorization_resolved');
    expect(events.find((event) => event.type === 'authorization_resolved')).toMatchObject({
      call_id: 'c-inbox',
      outcome: 'connected',
    });
    expect(events.find((event) => event.type === 'tool_result')).toMatchObject({
      call_id: 'c-inbox',
      result: { messages: 201 },
    });
    expect(JSON.stringify(events)).not.toContain('tool_outcome_unknown');
    // The model saw the tools the user's connection added, and never the URL or the state.
    expect(model.requests[1]?.tools?.map((tool) => tool.name)).toEqual(['mail__inbox', 'mail__read']);
    expect(JSON.stringify(model.requests)).not.toContain('s3cr3t-state');
    // Single use.
    await expect(
      assistant.completeAuthorization({
        runId: run.id,
        callId: 'c-inbox',
        userId: 'ann',
        outcome: 'connected',
      }),
    ).rejects.toMatchObject({ code: 'approval_conflict' });
    const audit = (await assistant.getAudit({ userId: 'ann', runId: run.id })).map((entry) => entry.action);
    expect(audit).toEqual(['authorization_requested', 'authorization_connected']);
  });

  it('tells the model tool_authorization_declined when the user declines, without running the call', async () => {
    const clock = manualClock();
    const mail = mailProvider(clock);
    const model = createScriptedModel([inboxCall, { text: 'Okay, not connected.' }]);
    const assistant = new Assistant({
      model,
      tools: [mail.provider],
      limits: { approvalPollMs: 10 },
      _internal: { now: clock.now },
    });
    const run = await assistant.start({ input: 'Inbox?', userId: 'ann' });
    await untilPaused(assistant, run.id);
    await assistant.completeAuthorization({
      runId: run.id,
      callId: 'c-inbox',
      userId: 'ann',
      outcome: 'declined',
    });
    expect((await run.result).stopReason).toBe('stop');
    expect(mail.refusals()).toBe(1);
    const events = await assistant.getRunEvents(run.id, { userId: 'ann' });
    expect(events.find((event) => event.type === 'authorization_resolved')).toMatchObject({
      outcome: 'declined',
    });
    expect(events.find((event) => event.type === 'tool_result')).toMatchObject({
      error: { code: 'tool_authorization_declined' },
    });
    const toolMessage = model.requests[1]?.messages.find((message) => message.role === 'tool');
    expect(toolMessage?.content).toContain('tool_authorization_declined');
    expect(JSON.stringify(model.requests)).not.toContain('auth.example');
  });

  it('ends the wait at its deadline: the model hears tool_authorization_declined, a late completion is refused', async () => {
    const clock = manualClock();
    const mail = mailProvider(clock);
    const woken = gate();
    const storage = createInMemoryStorage({ _internal: { now: clock.now } });
    // The paused loop reads approvals only when the test lets it: the clock moves first.
    const slow: Storage = {
      ...storage,
      listApprovals: async (runId, scope) => {
        const approvals = await storage.listApprovals(runId, scope);
        if (approvals.some((approval) => approval.status === 'pending')) await woken.promise;
        return approvals;
      },
    };
    const assistant = new Assistant({
      model: createScriptedModel([inboxCall, { text: 'Not connected in time.' }]),
      tools: [mail.provider],
      storage: slow,
      limits: { approvalPollMs: 10 },
      _internal: { now: clock.now },
    });
    const run = await assistant.start({ input: 'Inbox?', userId: 'ann' });
    await untilPaused(assistant, run.id);
    clock.advance(10 * 60_000);
    woken.open();
    expect((await run.result).stopReason).toBe('stop');
    const events = await assistant.getRunEvents(run.id, { userId: 'ann' });
    expect(events.find((event) => event.type === 'authorization_resolved')).toMatchObject({
      outcome: 'expired',
    });
    expect(events.find((event) => event.type === 'tool_result')).toMatchObject({
      error: { code: 'tool_authorization_declined' },
    });
    await expect(
      assistant.completeAuthorization({
        runId: run.id,
        callId: 'c-inbox',
        userId: 'ann',
        outcome: 'connected',
      }),
    ).rejects.toMatchObject({ code: 'approval_expired' });
    expect(mail.ran).toEqual([]);
  });

  it('goes on on another instance after a restart, with the catalog the connection brought', async () => {
    const clock = manualClock();
    const storage = createInMemoryStorage({ _internal: { now: clock.now } });
    const coordinator = createInMemoryCoordinator({ _internal: { now: clock.now } });
    const mail = mailProvider(clock);
    // A goes quiet once paused (it never polls again and beats once a minute): as good as dead.
    const a = new Assistant({
      model: createScriptedModel([inboxCall]),
      tools: [mail.provider],
      storage,
      coordinator,
      limits: { heartbeatMs: 60_000, approvalPollMs: 600_000 },
      _internal: { now: clock.now },
    });
    const bModel = createScriptedModel([{ text: 'You have 201 emails.' }]);
    const b = new Assistant({
      model: bModel,
      tools: [mail.provider],
      storage,
      coordinator,
      limits: { heartbeatMs: 20 },
      _internal: { now: clock.now },
    });
    const run = await a.start({ input: 'Inbox?', userId: 'ann', sessionId: 's-restart' });
    await untilPaused(a, run.id);
    clock.advance(3 * 60_000); // A's session lock has expired.
    mail.connect('ann');
    const { run: resumed } = await b.completeAuthorization({
      runId: run.id,
      callId: 'c-inbox',
      userId: 'ann',
      outcome: 'connected',
    });
    expect(resumed?.id).toBe(run.id);
    expect((await (resumed as Run).result).stopReason).toBe('stop');
    expect(mail.ran).toEqual(['ann:mail__inbox']);
    expect(bModel.requests[0]?.tools?.map((tool) => tool.name)).toEqual(['mail__inbox', 'mail__read']);
    const events = await b.getRunEvents(run.id, { userId: 'ann' });
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
    expect(events.at(-1)).toMatchObject({ type: 'final', stop_reason: 'stop', text: 'You have 201 emails.' });
    run.abort(); // A wakes to find the run taken and hands off.
    expect((await run.result).stopReason).toBe('handed_off');
    a.close();
    b.close();
  });

  it('answers a connect tool the resumed run no longer offers with the connection', async () => {
    const clock = manualClock();
    const storage = createInMemoryStorage({ _internal: { now: clock.now } });
    const mail = mailProvider(clock);
    let listedConnected = false;
    // Offers `mail__connect` until the user connects, like the registry's `<server>__connect`.
    const provider: ToolProvider = {
      name: 'mail-connect',
      listTools: async () =>
        listedConnected
          ? []
          : [
              {
                name: 'mail__connect',
                description: 'Connect mail',
                inputSchema: { type: 'object' },
                sideEffect: false,
              },
            ],
      callTool: (name, args, context) => mail.provider.callTool(name, args, context),
    };
    const a = new Assistant({
      model: createScriptedModel([{ toolCalls: [{ name: 'mail__connect', args: {}, callId: 'c-connect' }] }]),
      tools: [provider],
      storage,
      limits: { heartbeatMs: 60_000, approvalPollMs: 600_000 },
      _internal: { now: clock.now },
    });
    const b = new Assistant({
      model: createScriptedModel([{ text: 'Connected.' }]),
      tools: [provider],
      storage,
      _internal: { now: clock.now },
    });
    const run = await a.start({ input: 'Connect my mail', userId: 'ann', sessionId: 's-connect' });
    await untilPaused(a, run.id);
    clock.advance(3 * 60_000);
    mail.connect('ann');
    listedConnected = true;
    const { run: resumed } = await b.completeAuthorization({
      runId: run.id,
      callId: 'c-connect',
      userId: 'ann',
      outcome: 'connected',
    });
    expect((await (resumed as Run).result).stopReason).toBe('stop');
    const events = await b.getRunEvents(run.id, { userId: 'ann' });
    expect(events.find((event) => event.type === 'tool_result')).toMatchObject({
      call_id: 'c-connect',
      result: { connected: true, server: 'mail' },
    });
    run.abort();
    await run.result;
  });

  it('runs a consented side-effect call once after the user connects, despite its used consent and ledger entry', async () => {
    const clock = manualClock();
    const mail = mailProvider(clock, { sideEffect: true });
    const assistant = new Assistant({
      model: createScriptedModel([inboxCall, { text: 'Done.' }]),
      tools: [mail.provider],
      limits: { approvalPollMs: 10 },
      _internal: { now: clock.now },
    });
    const run = await assistant.start({ input: 'Inbox?', userId: 'ann' });
    for await (const event of assistant.streamRun(run.id, { userId: 'ann' })) {
      if (event.type === 'approval_required') break;
    }
    await expect
      .poll(async () => (await assistant.getRun(run.id, { userId: 'ann' }))?.status)
      .toBe('awaiting_approval');
    await assistant.approve('c-inbox', { userId: 'ann' });
    await expect
      .poll(async () => (await assistant.storage.listApprovals(run.id, { userId: 'ann' })).map((a) => a.kind))
      .toEqual(['consent', 'authorization']);
    mail.connect('ann');
    await assistant.completeAuthorization({
      runId: run.id,
      callId: 'c-inbox',
      userId: 'ann',
      outcome: 'connected',
    });
    expect((await run.result).stopReason).toBe('stop');
    expect(mail.ran).toEqual(['ann:mail__inbox']);
    const events = await assistant.getRunEvents(run.id, { userId: 'ann' });
    expect(
      events.map((event) => event.type).filter((type) => type.includes('_re') || type.startsWith('tool_r')),
    ).toEqual([
      'tool_request',
      'approval_required',
      'approval_resolved',
      'authorization_required',
      'authorization_resolved',
      'tool_result',
    ]);
    expect(events.find((event) => event.type === 'tool_result')).toMatchObject({ result: { messages: 201 } });
  });

  it('fails a call refused again after the user connected, telling the model the server but not the URL', async () => {
    const clock = manualClock();
    const mail = mailProvider(clock);
    const model = createScriptedModel([inboxCall, { text: 'Still not connected.' }]);
    const assistant = new Assistant({
      model,
      tools: [mail.provider],
      limits: { approvalPollMs: 10 },
      _internal: { now: clock.now },
    });
    const run = await assistant.start({ input: 'Inbox?', userId: 'ann' });
    await untilPaused(assistant, run.id);
    // Completed, but the server still refuses (say it wants more scopes): one wait per call.
    await assistant.completeAuthorization({
      runId: run.id,
      callId: 'c-inbox',
      userId: 'ann',
      outcome: 'connected',
    });
    expect((await run.result).stopReason).toBe('stop');
    expect(mail.refusals()).toBe(2);
    const events = await assistant.getRunEvents(run.id, { userId: 'ann' });
    expect(events.filter((event) => event.type === 'authorization_required')).toHaveLength(1);
    expect(events.find((event) => event.type === 'tool_result')).toMatchObject({
      error: {
        code: 'authorization_required',
        message: 'mail__inbox needs the user to connect mail first; it did not run',
      },
    });
    expect(JSON.stringify(model.requests)).not.toContain('auth.example');
    expect(JSON.stringify(model.requests)).not.toContain('s3cr3t-state');
  });

  it('fails a call whose refusal it cannot pause on (a javascript: URL), the state and URL kept from the model', async () => {
    const clock = manualClock();
    const mail = mailProvider(clock, { url: 'javascript:alert(1)//s3cr3t-state' });
    const model = createScriptedModel([inboxCall, { text: 'Cannot.' }]);
    const assistant = new Assistant({ model, tools: [mail.provider], _internal: { now: clock.now } });
    const run = assistant.run({ input: 'Inbox?', userId: 'ann' });
    expect((await run.result).stopReason).toBe('stop');
    const events = await assistant.getRunEvents(run.id, { userId: 'ann' });
    expect(events.map((event) => event.type)).not.toContain('authorization_required');
    expect(events.find((event) => event.type === 'tool_result')).toMatchObject({
      error: { code: 'authorization_required' },
    });
    expect(JSON.stringify(model.requests)).not.toContain('s3cr3t-state');
    expect(JSON.stringify(events)).not.toContain('s3cr3t-state');
  });
});
