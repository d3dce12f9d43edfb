import { describe, expect, it } from 'vitest';
import { createJwtAuth } from './auth.ts';
import { createStewardClient, StewardClientError } from './client.ts';
import { fakeAuthorizations } from './oauth-test-helpers.ts';
import { secret, testServers, userToken } from './test-helpers.ts';

const { server } = testServers();

describe('the connection routes', () => {
  it('lists, connects and disconnects the token user’s servers; checks tokens and names', async () => {
    const fake = fakeAuthorizations();
    const api = await server([], { api: { authorizations: fake.authorizations } });
    const client = createStewardClient({ url: api.url, token: await userToken('ann') });
    expect(await client.connections()).toEqual([{ server: 'mail', status: 'not_connected' }]);
    const started = await client.connect('mail');
    expect(started).toMatchObject({
      server: 'mail',
      state: expect.any(String),
      expires_at: expect.any(String),
    });
    expect(started.authorization_url).toContain(started.state);
    expect(fake.pending.get(started.state)).toEqual({ server: 'mail', userId: 'ann' });
    expect(await client.completeAuthorization({ state: started.state, code: 'c' })).toEqual({
      server: 'mail',
      outcome: 'connected',
    });
    expect(await client.connections()).toEqual([
      {
        server: 'mail',
        status: 'connected',
        scopes: ['mail.read'],
        connected_at: '2030-01-01T00:00:00.000Z',
      },
    ]);
    // Bob's list is his own.
    const bob = createStewardClient({ url: api.url, token: await userToken('bob') });
    expect(await bob.connections()).toEqual([{ server: 'mail', status: 'not_connected' }]);
    expect(await bob.disconnect('mail')).toBe(false);
    expect(await client.disconnect('mail')).toBe(true);
    expect(await client.disconnect('mail')).toBe(false);

    await expect(client.connect('calendar')).rejects.toMatchObject({ status: 400, code: 'invalid_input' });
    const badName = await fetch(`${api.url}/api/v1/connections/%00mail`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await userToken('ann')}` },
    });
    expect(badName.status).toBe(400);
    for (const [method, path] of [
      ['GET', '/api/v1/connections'],
      ['POST', '/api/v1/connections/mail'],
      ['DELETE', '/api/v1/connections/mail'],
    ] as const) {
      expect((await fetch(`${api.url}${path}`, { method })).status).toBe(401);
    }
    const runToken = await createJwtAuth({ secret }).issueRunToken({ userId: 'ann', runId: 'r-1' });
    const withRunToken = createStewardClient({ url: api.url, token: runToken });
    await expect(withRunToken.connections()).rejects.toMatchObject({ status: 403 });
  });

  it('answers 404 when connections are not enabled', async () => {
    const api = await server([]);
    const client = createStewardClient({ url: api.url, token: await userToken('ann') });
    const refused = await client.connections().catch((error: unknown) => error);
    expect(StewardClientError.isInstance(refused) && refused.status).toBe(404);
    expect((await fetch(`${api.url}/api/v1/oauth/callback?code=c&state=s`)).status).toBe(404);
    await expect(
      client.completeAuthorization({ state: 'state-1-abcdefghijklmnop', code: 'c' }),
    ).rejects.toMatchObject({
      status: 404,
    });
  });
});
