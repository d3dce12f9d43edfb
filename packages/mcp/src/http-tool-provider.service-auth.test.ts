import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { createHttpToolProvider } from './http-tool-provider.ts';
import { createServiceTokenSigner } from './service-token-signer.ts';
import { callContext } from './test-helpers.ts';

const signer = createServiceTokenSigner({ issuer: 'steward', key: 'a shared secret of at least 32 bytes' });

const discovery = {
  allowed_tools: ['ECHO'],
  tools: [{ tool_slug: 'ECHO', input_schema: { type: 'object' } }],
};

/** A fetch that records Authorization headers and answers from `answer`. */
function recordingFetch(answer: (path: string) => Response) {
  const seen: { path: string; authorization: string | null }[] = [];
  const fetch = async (url: string | URL | Request, init?: RequestInit) => {
    const path = new URL(String(url)).pathname;
    seen.push({ path, authorization: new Headers(init?.headers).get('authorization') });
    return answer(path);
  };
  return { seen, fetch: fetch as typeof globalThis.fetch };
}

describe('createHttpToolProvider with serviceAuth', () => {
  it('sends a token for the URL’s origin on discover and execute', async () => {
    const { seen, fetch } = recordingFetch((path) =>
      path.endsWith('/discover')
        ? Response.json(discovery)
        : Response.json({
            requestId: 'run:call',
            successful: true,
            data: { results: [{ tool_slug: 'ECHO', response: 'ok' }] },
            error: null,
          }),
    );
    const provider = createHttpToolProvider({
      name: 'tools',
      url: 'https://tools.internal:8443/base',
      fetch,
      serviceAuth: { signer },
    });
    await expect(provider.callTool('tools__ECHO', {}, callContext().context)).resolves.toBe('ok');
    expect(seen.map((request) => request.path)).toEqual(['/base/mcp/discover', '/base/mcp/execute']);
    for (const { authorization } of seen) {
      expect(decodeJwt(authorization?.replace('Bearer ', '') ?? '')).toMatchObject({
        iss: 'steward',
        aud: 'https://tools.internal:8443',
      });
    }
  });

  it('turns a 401 into a non-retryable tool_unavailable naming the audience, and sends nothing twice', async () => {
    const refusal = () =>
      Response.json(
        { error: 'invalid_token', error_description: 'the token is meant for another audience' },
        { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } },
      );
    const { seen, fetch } = recordingFetch(refusal);
    const provider = createHttpToolProvider({
      name: 'tools',
      url: 'https://tools.internal',
      fetch,
      serviceAuth: { signer, audience: 'tools-wrong' },
    });
    await expect(provider.listTools()).rejects.toMatchObject({
      code: 'tool_unavailable',
      retryable: false,
      message: expect.stringMatching(/discovery: the server answered 401.*audience tools-wrong/),
      details: { status: 401, audience: 'tools-wrong' },
    });
    expect(seen).toHaveLength(1);

    const execute = recordingFetch((path) =>
      path.endsWith('/discover') ? Response.json(discovery) : refusal(),
    );
    const executing = createHttpToolProvider({
      name: 'tools',
      url: 'https://tools.internal',
      fetch: execute.fetch,
      serviceAuth: { signer },
    });
    await expect(executing.callTool('tools__ECHO', {}, callContext().context)).rejects.toMatchObject({
      code: 'tool_unavailable',
      retryable: false,
      details: { status: 401 },
    });
    expect(execute.seen.filter((request) => request.path.endsWith('/execute'))).toHaveLength(1);
  });

  it('refuses serviceAuth beside an Authorization header, or without a signer', () => {
    for (const serviceAuth of [{ signer }, { signer: {} }]) {
      expect(() =>
        createHttpToolProvider({
          name: 'tools',
          url: 'https://tools.internal',
          headers: serviceAuth.signer === signer ? { authorization: 'Bearer static' } : {},
          serviceAuth: serviceAuth as never,
        }),
      ).toThrow(expect.objectContaining({ code: 'invalid_options' }));
    }
  });
});
