import { HttpError } from './http-error.ts';

/** @internal The JSON body of `request`: 415 unless JSON, 413 past `limit` bytes, 400 unless valid. */
export async function readJson(request: Request, limit: number): Promise<unknown> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/json\b/i.test(type))
    throw new HttpError(415, 'unsupported_media_type', 'The body must be application/json');
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) throw tooLarge(limit);
  const text = await readLimited(request, limit);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, 'invalid_request', `The body is not valid JSON: ${(error as Error).message}`);
  }
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'payload_too_large', `The body exceeds ${limit} bytes`);
}

/** Reads the body as text, refusing it as soon as it grows past `limit` bytes. */
async function readLimited(request: Request, limit: number): Promise<string> {
  if (request.body === null) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return decoder.decode(bytes);
  } catch {
    throw new HttpError(400, 'invalid_request', 'The body is not valid UTF-8');
  }
}

/** @internal A JSON response that no cache keeps. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });
}

/** @internal The response of an {@link HttpError}; a logged failure names its request id in a header too. */
export function errorResponse(error: HttpError): Response {
  return json(error.status, error.toBody(), {
    ...error.headers,
    ...(error.requestId === undefined ? {} : { 'x-request-id': error.requestId }),
  });
}
