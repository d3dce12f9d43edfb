import { describe, expect, it } from 'vitest';
import { startGmailServer } from './app.ts';
import { authModeFromEnvironment, dnsRebindingFromEnvironment } from './environment.ts';
import { Mailbox } from './mailbox.ts';

describe('the environment of main.ts', () => {
  it('reads the OAuth mode and its settings', () => {
    expect(authModeFromEnvironment({ GMAIL_MCP_OAUTH: 'true' })).toEqual({ oauth: {} });
    expect(
      authModeFromEnvironment({
        GMAIL_MCP_OAUTH: '1',
        GMAIL_MCP_OAUTH_ISSUER: 'http://localhost:8931',
        GMAIL_MCP_OAUTH_RESOURCE: 'http://gmail:8931/mcp',
        GMAIL_MCP_OAUTH_ACCESS_TOKEN_TTL_MS: '60000',
        GMAIL_MCP_OAUTH_REFRESH_TOKENS: 'offline_access',
        GMAIL_MCP_OAUTH_ONE_CLICK: 'false',
        GMAIL_MCP_OAUTH_PASSWORDS: 'alice=wonderland',
      }),
    ).toEqual({
      oauth: {
        issuer: 'http://localhost:8931',
        resource: 'http://gmail:8931/mcp',
        accessTokenTtlMs: 60_000,
        refreshTokens: 'offline_access',
        oneClickSignIn: false,
        users: [
          expect.objectContaining({ username: 'alice', password: 'wonderland' }),
          expect.objectContaining({ username: 'bob', password: 'bob-password' }),
        ],
      },
    });
    expect(authModeFromEnvironment({ GMAIL_MCP_OAUTH: 'false' })).toBeUndefined();
  });

  it('keeps service JWTs, and refuses both modes at once', () => {
    const secret = 'the gmail mock’s shared secret, 32+ bytes';
    expect(authModeFromEnvironment({ GMAIL_MCP_JWT_SECRET: secret })).toEqual({ secret, issuer: 'steward' });
    expect(() => authModeFromEnvironment({ GMAIL_MCP_JWT_SECRET: secret, GMAIL_MCP_OAUTH: 'true' })).toThrow(
      /either GMAIL_MCP_OAUTH or a service JWT key/,
    );
  });

  it('reads the allowed hosts and origins', () => {
    expect(
      dnsRebindingFromEnvironment({
        GMAIL_MCP_ALLOWED_HOSTS: 'gmail, gmail.internal',
        GMAIL_MCP_ALLOWED_ORIGINS: 'http://localhost:6274',
      }),
    ).toEqual({ allowedHosts: ['gmail', 'gmail.internal'], allowedOrigins: ['http://localhost:6274'] });
    expect(dnsRebindingFromEnvironment({})).toEqual({ allowedHosts: [], allowedOrigins: [] });
  });

  it('refuses bad OAuth settings at start with a readable error', async () => {
    await expect(
      startGmailServer({ auth: { oauth: { refreshTokens: 'sometimes' as 'always' } } }),
    ).rejects.toThrow(/Gmail mock OAuth: .*refreshTokens/s);
    await expect(
      startGmailServer({ auth: { oauth: { issuer: 'http://localhost:8931/oauth' } } }),
    ).rejects.toThrow(/must be an origin/);
    await expect(
      startGmailServer({
        auth: {
          oauth: { users: [{ username: 'carol', email: 'carol@example.com', name: 'Carol', password: 'x' }] },
        },
      }),
    ).rejects.toThrow(/carol has no mailbox/);
  });
});

describe('the mailbox a call reaches', () => {
  it('is the principal’s when there is one: me means it, anyone else is refused', () => {
    const mailbox = new Mailbox();
    expect(mailbox.fetch({ user_id: 'me' }, 'bob@example.com').resultSizeEstimate).toBe(37);
    expect(() => mailbox.fetch({ user_id: 'alice@example.com' }, 'bob@example.com')).toThrow(
      /Delegation denied/,
    );
    expect(mailbox.fetch({ user_id: 'bob@example.com' }).resultSizeEstimate).toBe(37);
    expect(mailbox.fetch({ user_id: 'me' }).resultSizeEstimate).toBe(201);
    mailbox.send({ user_id: 'me', to: 'x@example.com', subject: 's', body: 'b' }, 'bob@example.com');
    mailbox.send({ user_id: 'me', to: 'y@example.com', subject: 's', body: 'b' });
    expect(mailbox.sentBy('bob@example.com').map((email) => email.to)).toEqual(['x@example.com']);
    expect(mailbox.sentBy('alice@example.com').map((email) => email.to)).toEqual(['y@example.com']);
    expect(mailbox.sent).toHaveLength(2);
  });
});
