import { isStewardError } from '@steward/core';
import { decodeJwt } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMcpRegistry } from './mcp-registry.ts';
import { createInMemoryRegistrationStore } from './registration-store.ts';
import { createServiceTokenSigner } from './service-token-signer.ts';
import { createServiceTokenVerifier } from './service-token-verifier.ts';
import { allowLocal, callContext, type RecordedRequest, startRecordingServer } from './test-helpers.ts';

const secret = 'a shared secret of at least 32 bytes';
const signer = createServiceTokenSigner({ issuer: 'steward', subject: 'svc-steward', key: secret });

/** Accepts only tokens for `audience` from `steward`. */
const acceptOnly = (audience: string) => {
  const verifier = createServiceTokenVerifier({ audience, issuer: 'steward', key: secret });
  return (authorization: string | undefined) =>
    verifier.verify(authorization).then(
      () => true,
      () => false,
    );
};

const tokenOf = (request: RecordedRequest) => request.authorization?.replace(/^Bearer /, '') ?? '';

afterEach(() => {
  vi.useRealTimers();
});

describe('service tokens on MCP HTTP calls', () => {
  it('sends a valid token on every Streamable HTTP request, renewed near expiry, GET stream reconnects included', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const server = await startRecordingServer('streamable-http', (authorization) =>
      acceptOnly(new URL(server.url).origin)(authorization),
    );
    const registry = createMcpRegistry({ serviceAuth: { signer }, registrations: allowLocal(server.url) });
    try {
      await registry.register({
        name: 'rec',
        transport: 'streamable-http',
        url: server.url,
        serviceAuth: {},
      });
      await expect(registry.callTool('rec__echo', { text: 'hi' }, callContext().context)).resolves.toBe('hi');
      await vi.waitFor(() => expect(server.requests.some((request) => request.method === 'GET')).toBe(true), {
        timeout: 10_000,
      });
      const first = tokenOf(server.requests[0] as RecordedRequest);
      expect(decodeJwt(first)).toMatchObject({
        iss: 'steward',
        sub: 'svc-steward',
        aud: new URL(server.url).origin,
      });
      expect(server.requests.every((request) => tokenOf(request) === first)).toBe(true);

      // 50 s later the signer has renewed (at 45 s of 60): new requests carry the new token.
      vi.setSystemTime(Date.now() + 50_000);
      const seen = server.requests.length;
      await expect(registry.callTool('rec__echo', { text: 'later' }, callContext().context)).resolves.toBe(
        'later',
      );
      // A GET stream the server ends is reopened by the SDK through the same fetch.
      server.endStreams();
      await vi.waitFor(
        () => expect(server.requests.slice(seen).some((request) => request.method === 'GET')).toBe(true),
        { timeout: 10_000 },
      );
      const later = server.requests.slice(seen);
      expect(later.map((request) => request.method)).toEqual(expect.arrayContaining(['POST', 'GET']));
      for (const request of later) {
        expect(tokenOf(request)).not.toBe(first);
        // Signed after the jump (the clock may also have moved a second on its own).
        const issuedAfter = (decodeJwt(tokenOf(request)).iat ?? 0) - (decodeJwt(first).iat ?? 0);
        expect(issuedAfter).toBeGreaterThanOrEqual(50);
        expect(issuedAfter).toBeLessThan(55);
      }
      expect(registry.status()).toMatchObject([{ name: 'rec', state: 'connected', reconnects: 0 }]);
    } finally {
      await registry.close();
      await server.close();
    }
  });

  it('sends tokens on the legacy SSE stream and its POSTs, for the audience the operator chose', async () => {
    const server = await startRecordingServer('sse', (authorization) =>
      acceptOnly('legacy-audience')(authorization),
    );
    const registry = createMcpRegistry({
      serviceAuth: { signer },
      servers: [
        { name: 'legacy', transport: 'sse', url: server.url, serviceAuth: { audience: 'legacy-audience' } },
      ],
    });
    try {
      await registry.ready();
      expect(registry.status()).toMatchObject([{ state: 'connected', transport: 'sse' }]);
      await expect(registry.callTool('legacy__echo', { text: 'old' }, callContext().context)).resolves.toBe(
        'old',
      );
      expect(new Set(server.requests.map((request) => `${request.method} ${request.path}`))).toEqual(
        new Set(['GET /sse', 'POST /messages']),
      );
      expect(server.requests.every((request) => decodeJwt(tokenOf(request)).aud === 'legacy-audience')).toBe(
        true,
      );
    } finally {
      await registry.close();
      await server.close();
    }
  });

  it('reports a refused token as a typed, non-retryable error, at connect and at call time', async () => {
    let accept = acceptOnly('https://somewhere-else.internal');
    const server = await startRecordingServer('streamable-http', (authorization) => accept(authorization));
    const origin = new URL(server.url).origin;
    const warnings: unknown[] = [];
    const registry = createMcpRegistry({
      serviceAuth: { signer },
      registrations: allowLocal(server.url),
      onWarning: (warning) => warnings.push(warning),
    });
    try {
      const status = await registry.register({
        name: 'rec',
        transport: 'streamable-http',
        url: server.url,
        serviceAuth: {},
      });
      expect(status.state).toBe('connecting');
      expect(status.lastError).toMatch(
        /answered 401.*refused the service token for audience http:\/\/127\.0\.0\.1/,
      );
      // 401 is about credentials, not an old server: no fallback to the legacy transport.
      expect(server.requests.every((request) => request.method === 'POST')).toBe(true);
      const connectFailed = () =>
        warnings.find((warning) => /connecting failed/.test((warning as Error).message));
      await vi.waitFor(() => expect(connectFailed()).toBeDefined(), { timeout: 5_000 });
      expect(connectFailed()).toMatchObject({
        cause: { code: 'tool_unavailable', retryable: false, details: { status: 401, audience: origin } },
      });

      accept = acceptOnly(origin);
      await vi.waitFor(() => expect(registry.status()[0]?.state).toBe('connected'), { timeout: 10_000 });
      accept = async () => false;
      const error = await registry
        .callTool('rec__echo', { text: 'x' }, callContext().context)
        .catch((failure: unknown) => failure);
      expect(isStewardError(error, 'tool_unavailable')).toBe(true);
      expect(error).toMatchObject({ retryable: false, details: { status: 401, audience: origin } });
    } finally {
      await registry.close();
      await server.close();
    }
  });
});

describe('the registry’s fetch option', () => {
  it('carries every HTTP request (as an mTLS fetch would), with the service token added on top', async () => {
    const server = await startRecordingServer('streamable-http');
    const seen: { method: string; authorization: string | null }[] = [];
    const registry = createMcpRegistry({
      serviceAuth: { signer },
      registrations: allowLocal(server.url),
      fetch: (url, init) => {
        seen.push({
          method: init?.method ?? 'GET',
          authorization: new Headers(init?.headers).get('authorization'),
        });
        return fetch(url, init);
      },
    });
    try {
      await registry.register({
        name: 'rec',
        transport: 'streamable-http',
        url: server.url,
        serviceAuth: {},
      });
      await registry.register({ name: 'open', transport: 'streamable-http', url: server.url });
      await expect(registry.callTool('rec__echo', { text: 'hi' }, callContext().context)).resolves.toBe('hi');
      expect(seen.length).toBe(server.requests.length);
      expect(seen.filter((request) => request.authorization?.startsWith('Bearer ey'))).toHaveLength(
        server.requests.filter((request) => request.authorization !== undefined).length,
      );
      expect(seen.some((request) => request.authorization === null)).toBe(true);
    } finally {
      await registry.close();
      await server.close();
    }
  });
});

describe('stored registrations with serviceAuth', () => {
  it('are stored without an audience; a registry with a signer restores their auth, one without says why not', async () => {
    const server = await startRecordingServer('streamable-http', (authorization) =>
      acceptOnly(new URL(server.url).origin)(authorization),
    );
    const registrations = allowLocal(server.url);
    const store = createInMemoryRegistrationStore();
    const first = createMcpRegistry({ store, serviceAuth: { signer }, registrations });
    await first.register({ name: 'rec', transport: 'streamable-http', url: server.url, serviceAuth: {} });
    await first.close();
    const stored = await store.list();
    expect(JSON.parse(JSON.stringify(stored))).toEqual([
      { name: 'rec', transport: 'streamable-http', url: server.url, serviceAuth: {} },
    ]);

    const restored = createMcpRegistry({ store, serviceAuth: { signer }, registrations });
    await restored.ready();
    expect(restored.status()).toMatchObject([{ name: 'rec', state: 'connected' }]);
    await expect(restored.callTool('rec__echo', { text: 'back' }, callContext().context)).resolves.toBe(
      'back',
    );
    await restored.close();

    const seen = server.requests.length;
    const unsigned = createMcpRegistry({ store, registrations });
    await unsigned.ready();
    expect(unsigned.status()).toMatchObject([
      { name: 'rec', state: 'connecting', lastError: expect.stringMatching(/no serviceAuth signer/) },
    ]);
    // A configuration error is not retried: nothing was sent, and nothing will be.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(server.requests.length).toBe(seen);
    await unsigned.close();
    await server.close();
  });

  it('refuses a registration that chooses its audience, and mints a stored row’s tokens for its origin whatever audience it holds', async () => {
    const server = await startRecordingServer('streamable-http');
    const origin = new URL(server.url).origin;
    const registrations = allowLocal(server.url);
    const store = createInMemoryRegistrationStore();
    const registry = createMcpRegistry({ store, serviceAuth: { signer }, registrations });
    const refused = await registry
      .register({
        name: 'rec',
        transport: 'streamable-http',
        url: server.url,
        serviceAuth: { audience: 'https://gmail.internal' } as never,
      })
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({
      code: 'invalid_input',
      details: { issues: [{ path: ['serviceAuth', 'audience'], code: 'audience_not_allowed' }] },
    });
    expect(await store.list()).toEqual([]);
    expect(server.requests).toEqual([]);
    await registry.close();

    // A row from before (or written straight into the database) still names an audience.
    await store.save({
      name: 'rec',
      transport: 'streamable-http',
      url: server.url,
      serviceAuth: { audience: 'https://gmail.internal' } as never,
    });
    const warnings: string[] = [];
    const restored = createMcpRegistry({
      store,
      serviceAuth: { signer },
      registrations,
      onWarning: (warning) => warnings.push(warning.message),
    });
    await restored.ready();
    expect(restored.status()).toMatchObject([{ name: 'rec', state: 'connected' }]);
    expect(server.requests.length).toBeGreaterThan(0);
    expect(server.requests.every((request) => decodeJwt(tokenOf(request)).aud === origin)).toBe(true);
    expect(warnings).toContainEqual(expect.stringMatching(/rec: its serviceAuth.audience is ignored/));
    await restored.close();
    await server.close();
  });

  it('refuses serviceAuth without a signer, or beside an Authorization header', async () => {
    const store = createInMemoryRegistrationStore();
    const unsigned = createMcpRegistry({ store });
    const url = 'http://127.0.0.1:9/mcp';
    await expect(
      unsigned.register({ name: 'x', transport: 'streamable-http', url, serviceAuth: {} }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/no serviceAuth signer/),
    });
    const signed = createMcpRegistry({ store, serviceAuth: { signer } });
    await expect(
      signed.register({
        name: 'x',
        transport: 'sse',
        url,
        serviceAuth: {},
        headers: { Authorization: 'Bearer t' },
      }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/headers: sets Authorization/),
    });
    expect(() => createMcpRegistry({ serviceAuth: { signer: {} as never } })).toThrow(
      expect.objectContaining({ code: 'invalid_options' }),
    );
    expect(await store.list()).toEqual([]);
    await unsigned.close();
    await signed.close();
  });
});
