import { createServer } from 'node:net';
import fc from 'fast-check';
import { contentType, framing, garbageBody } from './arbitraries.ts';
import { type Answer, send } from './http.ts';

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A body as it goes out: JSON text or garbage, any content type, whole or chunked. */
export function requestBody(shaped: fc.Arbitrary<string>) {
  return fc.record({
    body: fc.oneof({ weight: 3, arbitrary: shaped }, { weight: 1, arbitrary: garbageBody(shaped) }),
    type: fc.oneof(
      { weight: 3, arbitrary: fc.constant<string | undefined>('application/json') },
      { weight: 1, arbitrary: contentType },
    ),
    framing,
  });
}

/** What {@link requestBody} makes. */
export interface RequestBody {
  readonly body: string | Uint8Array;
  readonly type: string | undefined;
  readonly framing: { readonly chunked: boolean; readonly pieces?: number };
}

/** POSTs a generated body to `base + path` with a bearer token. */
export function post(base: string, path: string, token: string, input: RequestBody): Promise<Answer> {
  return send(`${base}${path}`, {
    method: 'POST',
    headers: { ...bearer(token), ...(input.type === undefined ? {} : { 'content-type': input.type }) },
    body: input.body,
    ...(input.framing.chunked ? { pieces: input.framing.pieces ?? 1 } : {}),
  });
}

/** A JSON body as the server would parse it, when it is an object. */
export function parsed(body: string | Uint8Array): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(typeof body === 'string' ? body : new TextDecoder().decode(body));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A port nothing listens on (connections to it are refused at once). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
