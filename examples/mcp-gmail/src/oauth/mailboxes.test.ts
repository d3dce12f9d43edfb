import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Gmail, mcpSession, rpcResult, startOAuthGmail } from './test-helpers.ts';

let gmail: Gmail;
beforeAll(async () => {
  ({ gmail } = await startOAuthGmail());
});
afterAll(() => gmail.stop());

const sendArgs = { user_id: 'me', to: 'carol@example.com', subject: 'Hello', body: 'From the test' };

describe('per-user mailboxes in the OAuth mode', () => {
  it('shows alice’s token her 201 emails and bob’s his 37, over MCP and over execute', async () => {
    for (const [user, count] of [
      ['alice', 201],
      ['bob', 37],
    ] as const) {
      const { tokens } = await connect(gmail, { user });
      const session = await mcpSession(gmail, tokens.access_token);
      const inbox = { user_id: 'me', label_ids: ['INBOX'], max_results: 3 };
      const result = await rpcResult(await session.call('GMAIL_FETCH_EMAILS', inbox));
      expect(result).toMatchObject({ result: { structuredContent: { resultSizeEstimate: count } } });
      const execute = await fetch(`${gmail.url}/mcp/execute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.access_token}` },
        body: JSON.stringify({ tools: [{ tool_slug: 'GMAIL_FETCH_EMAILS', arguments: inbox }] }),
      });
      expect((await execute.json()).data.results[0].response.resultSizeEstimate).toBe(count);
    }
  });

  it('refuses another user’s mailbox by user_id (delegation denied), and takes the user’s own address', async () => {
    const { tokens } = await connect(gmail, { user: 'bob' });
    const session = await mcpSession(gmail, tokens.access_token);
    const denied = await rpcResult(
      await session.call('GMAIL_FETCH_EMAILS', { user_id: 'alice@example.com' }),
    );
    expect(denied).toMatchObject({
      result: { isError: true, content: [{ text: expect.stringContaining('Delegation denied') }] },
    });
    const own = await rpcResult(
      await session.call('GMAIL_FETCH_EMAILS', { user_id: 'bob@example.com', label_ids: ['INBOX'] }),
    );
    expect(own).toMatchObject({ result: { structuredContent: { resultSizeEstimate: 37 } } });
  });

  it('sends from the signed-in user: a send by bob counts for bob', async () => {
    const { tokens } = await connect(gmail, { user: 'bob', scope: 'gmail.readonly gmail.send' });
    const session = await mcpSession(gmail, tokens.access_token);
    const before = {
      alice: gmail.mailbox.sentBy('alice@example.com').length,
      all: gmail.mailbox.sent.length,
    };
    const sent = await rpcResult(await session.call('GMAIL_SEND_EMAIL', sendArgs));
    expect(sent).toMatchObject({ result: { structuredContent: { labelIds: ['SENT'] } } });
    expect(gmail.mailbox.sentBy('bob@example.com')).toEqual([
      expect.objectContaining({ from: 'bob@example.com', to: 'carol@example.com', subject: 'Hello' }),
    ]);
    expect(gmail.mailbox.sentBy('alice@example.com')).toHaveLength(before.alice);
    expect(gmail.mailbox.sent).toHaveLength(before.all + 1);
    const inbox = await rpcResult(
      await session.call('GMAIL_FETCH_EMAILS', { user_id: 'me', label_ids: ['SENT'] }),
    );
    expect(inbox).toMatchObject({ result: { structuredContent: { resultSizeEstimate: 1 } } });
  });

  it('steps up: a send with a read-only token is 403 insufficient_scope naming both scopes, and sends nothing', async () => {
    const { tokens } = await connect(gmail, { user: 'alice', scope: 'gmail.readonly' });
    const session = await mcpSession(gmail, tokens.access_token);
    const before = gmail.mailbox.sent.length;
    const refused = await session.call('GMAIL_SEND_EMAIL', sendArgs);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_scope", error_description="GMAIL_SEND_EMAIL needs the gmail.send scope", resource_metadata="${gmail.url}/.well-known/oauth-protected-resource/mcp", scope="gmail.readonly gmail.send"`,
    );
    expect(await refused.json()).toMatchObject({ error: 'insufficient_scope' });
    const execute = await fetch(`${gmail.url}/mcp/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.access_token}` },
      body: JSON.stringify({ tools: [{ tool_slug: 'GMAIL_SEND_EMAIL', arguments: sendArgs }] }),
    });
    expect(execute.status).toBe(403);
    expect(gmail.mailbox.sent).toHaveLength(before);
    // A send-only token cannot read either.
    const sendOnly = await connect(gmail, { scope: 'gmail.send' });
    const sendSession = await mcpSession(gmail, sendOnly.tokens.access_token);
    const read = await sendSession.call('GMAIL_FETCH_EMAILS', { user_id: 'me' });
    expect(read.status).toBe(403);
    expect(read.headers.get('www-authenticate')).toContain('scope="gmail.readonly gmail.send"');
    // Reading and listing tools is still fine with the read-only token.
    expect((await session.call('GMAIL_FETCH_EMAILS', { user_id: 'me' })).status).toBe(200);
  });

  it('keeps a session to the user who opened it: another user’s token is told it does not exist', async () => {
    const alice = await connect(gmail, { user: 'alice' });
    const bob = await connect(gmail, { user: 'bob' });
    const session = await mcpSession(gmail, alice.tokens.access_token);
    const hijack = await session.call('GMAIL_FETCH_EMAILS', { user_id: 'me' }, bob.tokens.access_token);
    expect(hijack.status).toBe(404);
    expect((await session.call('GMAIL_FETCH_EMAILS', { user_id: 'me' })).status).toBe(200);
  });

  it('remembers execute requestIds per user: bob reusing alice’s id gets his own answer', async () => {
    const alice = await connect(gmail, { user: 'alice' });
    const bob = await connect(gmail, { user: 'bob' });
    const execute = (token: string) =>
      fetch(`${gmail.url}/mcp/execute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          tools: [{ tool_slug: 'GMAIL_FETCH_EMAILS', arguments: { user_id: 'me', label_ids: ['INBOX'] } }],
          requestId: 'shared-id',
        }),
      }).then((response) => response.json());
    expect((await execute(alice.tokens.access_token)).data.results[0].response.resultSizeEstimate).toBe(201);
    expect((await execute(bob.tokens.access_token)).data.results[0].response.resultSizeEstimate).toBe(37);
  });
});
