import { type Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type { HttpErrorCode } from '@steward/transport-ws';
import { expect } from 'vitest';
import { z } from 'zod';

/** What a request got back, read whole. */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/**
 * A request as the fuzzers make it: any method, headers and body, optionally chunked in pieces.
 * Each goes on a fresh connection (or on `agent`'s, to test what a connection carries over), and
 * the answer counts once it is read whole, even if the server stops reading the upload first.
 */
export function send(
  url: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Uint8Array;
    pieces?: number;
    agent?: Agent;
  } = {},
): Promise<Answer> {
  const { method = 'GET', headers = {}, body, pieces, agent } = init;
  const bytes =
    body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
  const sendsBody = bytes !== undefined && method !== 'GET' && method !== 'HEAD';
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, {
      method,
      agent: agent ?? false,
      headers: {
        ...headers,
        // Chunked when in pieces; otherwise a Content-Length, even for an empty body.
        ...(sendsBody && pieces === undefined ? { 'content-length': String(bytes.byteLength) } : {}),
      },
    });
    let answered = false;
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        answered = true;
        const answerHeaders = new Headers();
        for (const [name, value] of Object.entries(response.headers))
          for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value])
            answerHeaders.append(name, item);
        resolve({
          status: response.statusCode ?? 0,
          headers: answerHeaders,
          text: Buffer.concat(chunks).toString('utf8'),
        });
        if (agent === undefined) request.destroy();
      });
    });
    request.on('error', (error) => {
      if (!answered) reject(new Error(`${method} ${url.slice(0, 200)}: ${error.message}`));
    });
    if (sendsBody) {
      if (pieces === undefined) request.write(bytes);
      else {
        // In `pieces` parts that may split a UTF-8 character.
        const size = Math.max(1, Math.ceil(bytes.byteLength / pieces));
        for (let offset = 0; offset < bytes.byteLength; offset += size)
          request.write(bytes.subarray(offset, offset + size));
      }
    }
    request.end();
  });
}

// Every code an error body may carry: a Record, so the compiler flags a code added to the union.
const httpErrorCodes: Record<HttpErrorCode, true> = {
  invalid_options: true,
  invalid_input: true,
  model_error: true,
  model_rate_limited: true,
  model_unavailable: true,
  model_stream_stalled: true,
  tool_not_found: true,
  tool_invalid_arguments: true,
  tool_invalid_output: true,
  tool_execution_failed: true,
  tool_timeout: true,
  tool_authorization_declined: true,
  authorization_required: true,
  authorization_failed: true,
  run_fenced: true,
  tool_denied: true,
  tool_unavailable: true,
  tool_outcome_unknown: true,
  input_not_found: true,
  input_conflict: true,
  approval_required: true,
  approval_not_found: true,
  approval_expired: true,
  approval_conflict: true,
  run_aborted: true,
  run_timeout: true,
  run_interrupted: true,
  max_steps_exceeded: true,
  session_not_found: true,
  session_busy: true,
  rate_limited: true,
  too_many_active_runs: true,
  quota_exceeded: true,
  not_found: true,
  storage_error: true,
  vault_error: true,
  internal_error: true,
  unauthorized: true,
  forbidden: true,
  invalid_request: true,
  payload_too_large: true,
  unsupported_media_type: true,
  method_not_allowed: true,
};

/** The transport's error body (http-error.ts): `{ error: { code, message, details? } }` and nothing else. */
export const errorBodySchema = z
  .object({
    error: z
      .object({
        code: z.enum(Object.keys(httpErrorCodes) as [HttpErrorCode, ...HttpErrorCode[]]),
        message: z.string().min(1),
        details: z.record(z.string(), z.unknown()).optional(),
        request_id: z.string().min(1).optional(),
      })
      .strict(),
  })
  .strict();

/** Text a response body must never show: database and driver internals. */
const internals =
  /(syntax error at or near|violates [\w -]*constraint|invalid byte sequence for encoding|relation "[^"]*" does not exist|SQLSTATE|ECONNREFUSED|ECONNRESET|Connection terminated|\bat [\w.<>]+ \((file|node):|node:internal)/i;

/**
 * The transport's contract for any request: never a 5xx, and every 4xx is a typed JSON error
 * body (a known code, a message, optional details) without internals.
 */
export function expectTypedAnswer(answer: Answer, where: string): void {
  expect(answer.status, `${where}: ${answer.text.slice(0, 300)}`).toBeLessThan(500);
  if (answer.status < 400 || isParserRefusal(answer)) return;
  expect(answer.headers.get('content-type'), where).toMatch(/^application\/json\b/);
  const body = errorBodySchema.safeParse(parse(answer.text));
  expect(body.success, `${where}: not a typed error body: ${answer.text.slice(0, 300)}`).toBe(true);
  expect(answer.text, where).not.toMatch(internals);
}

/**
 * Node's HTTP parser refuses a request line or headers past its limits (431, or 400 for bytes it
 * cannot parse) with an empty body, before any handler runs: the one 4xx that is not the
 * transport's, and still never a 5xx.
 */
export function isParserRefusal(answer: Answer): boolean {
  return (
    (answer.status === 431 || answer.status === 400) &&
    answer.text === '' &&
    answer.headers.get('content-type') === null
  );
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The error body of a typed 4xx (call after {@link expectTypedAnswer}). */
export function errorOf(answer: Answer): z.infer<typeof errorBodySchema>['error'] {
  return errorBodySchema.parse(JSON.parse(answer.text)).error;
}

/** A raw exchange: the status line, headers and body the server wrote before it closed. */
export interface RawAnswer {
  readonly status: number | undefined;
  readonly head: string;
  readonly body: string;
}

/**
 * Writes `bytes` to the server and half-closes (unless told not to), then reads until the server
 * closes (or, for an accepted WebSocket upgrade, until the 101 arrives). The bound is a safety net against a server
 * that never answers, which fails the case: it is never what a passing case waits for.
 */
export function rawExchange(
  port: number,
  bytes: string | Uint8Array,
  options: { halfClose?: boolean; boundMs?: number } = {},
): Promise<RawAnswer> {
  const { halfClose = true, boundMs = 10_000 } = options;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(bytes);
      // Half-closing says "that is all" to a parser waiting for more; an upgrade must stay open.
      if (halfClose) socket.end();
    });
    const chunks: Buffer[] = [];
    const finish = () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const head = split === -1 ? text : text.slice(0, split);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1];
      resolve({
        status: status === undefined ? undefined : Number(status),
        head,
        body: split === -1 ? '' : Buffer.from(text.slice(split + 4), 'latin1').toString('utf8'),
      });
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${boundMs} ms to ${JSON.stringify(String(bytes).slice(0, 200))}`));
    }, boundMs);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      if (/^HTTP\/1\.1 101 /.test(Buffer.concat(chunks).toString('latin1'))) {
        socket.destroy();
        finish();
      }
    });
    socket.on('close', finish);
    socket.on('error', () => {});
  });
}

/** The value of a header in a raw response head. */
export function headerOf(head: string, name: string): string | undefined {
  const match = new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head);
  return match?.[1]?.trim();
}

/** Percent-encodes any string for a URL, lone surrogates as U+FFFD (a URL cannot carry them). */
export function encodeSegment(value: string): string {
  return encodeURIComponent(value.toWellFormed());
}
