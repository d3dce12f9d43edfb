import { createJwtAuth } from '@steward/transport-ws';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { hostOptionsFromEnvironment } from '../environment.ts';
import { createServiceTokenMinter } from './service-tokens.ts';

const secret = 'the-orchestrators-jwt-secret-of-32-chars+';

describe('service tokens', () => {
  it('carry the user and roles, short-lived, in a form the orchestrator’s createJwtAuth accepts', async () => {
    const mint = createServiceTokenMinter({ secret, issuer: 'steward-host', audience: 'steward-api' });
    const orchestrator = createJwtAuth({ secret, issuer: 'steward-host', audience: 'steward-api' });
    const token = await mint('oidc:alice', ['admin']);
    expect(await orchestrator.authenticate(token)).toEqual({ userId: 'oidc:alice', roles: ['admin'] });
    const claims = decodeJwt(token);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(60);
    expect(claims.jti).toEqual(expect.any(String));
    expect(decodeJwt(await mint('oidc:alice')).jti).not.toBe(claims.jti);
    // Signed with another key, or for another audience: refused.
    const stranger = createServiceTokenMinter({ secret: `${secret}-other`, audience: 'steward-api' });
    await expect(orchestrator.authenticate(await stranger('oidc:alice'))).rejects.toMatchObject({
      status: 401,
    });
    await expect(
      orchestrator.authenticate(await createServiceTokenMinter({ secret, issuer: 'steward-host' })('x')),
    ).rejects.toMatchObject({ status: 401 });
  });

  it('refuse a key too short for HS256', () => {
    expect(() => createServiceTokenMinter({ secret: 'short' })).toThrow(/at least 32 characters/);
  });
});

describe('the orchestrator in the environment', () => {
  it('reads its URL and the key, issuer and audience of the service tokens', () => {
    expect(
      hostOptionsFromEnvironment({
        STEWARD_ORCHESTRATOR_URL: 'http://orchestrator:8080',
        STEWARD_ORCHESTRATOR_JWT_SECRET: secret,
        STEWARD_ORCHESTRATOR_JWT_ISSUER: 'steward-host',
        STEWARD_ORCHESTRATOR_JWT_AUDIENCE: 'steward-api',
      }).orchestrator,
    ).toEqual({ url: 'http://orchestrator:8080', secret, issuer: 'steward-host', audience: 'steward-api' });
    expect(hostOptionsFromEnvironment({}).orchestrator).toBeUndefined();
  });

  it('names what is missing or wrong', () => {
    expect(() =>
      hostOptionsFromEnvironment({ STEWARD_ORCHESTRATOR_URL: 'http://orchestrator:8080' }),
    ).toThrow(/STEWARD_ORCHESTRATOR_JWT_SECRET/);
    expect(() =>
      hostOptionsFromEnvironment({
        STEWARD_ORCHESTRATOR_URL: 'ftp://x',
        STEWARD_ORCHESTRATOR_JWT_SECRET: secret,
      }),
    ).toThrow(/STEWARD_ORCHESTRATOR_URL/);
  });
});
