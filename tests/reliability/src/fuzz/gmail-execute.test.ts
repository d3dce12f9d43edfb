import { startGmailServer } from '@steward/example-mcp-gmail';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkProperty, printFigures } from '../budget.ts';
import { guardProcess } from '../process-guard.ts';
import {
  contentType,
  deepNesting,
  framing,
  garbageBody,
  hostileJson,
  hostileShortString,
  hostileString,
  numberToken,
  shapedObject,
} from './arbitraries.ts';
import { send } from './http.ts';
import { expectUnpolluted, text } from './invariants.ts';

// The Gmail mock's plain-HTTP `/mcp/execute`: any envelope gets the execute response shape, a 4xx
// for a bad request (never a 5xx), and an email is sent once per call, never again on a replay.
guardProcess();
let gmail: Awaited<ReturnType<typeof startGmailServer>>;
beforeAll(async () => {
  gmail = await startGmailServer();
});
afterAll(async () => {
  await gmail?.stop();
  printFigures('Gmail mock /mcp/execute');
});

const resultSchema = z
  .object({ tool_slug: z.string(), response: z.unknown(), error: z.string().optional() })
  .strict();
const executeAnswerSchema = z.union([
  z
    .object({
      requestId: z.string(),
      successful: z.boolean(),
      data: z.object({ results: z.array(resultSchema) }).strict(),
      error: z
        .object({ code: z.string().min(1).optional(), message: z.string() })
        .strict()
        .nullable(),
    })
    .strict(),
  z
    .object({
      requestId: z.string().nullable(),
      successful: z.literal(false),
      data: z.null(),
      error: z
        .object({
          code: z.string().min(1),
          message: z.string().min(1),
          details: z.unknown().optional(),
          type: z.string().optional(),
        })
        .strict(),
    })
    .strict(),
]);

const array = (item: fc.Arbitrary<string>, maxLength = 3) =>
  fc.array(item, { maxLength }).map((items) => `[${items.join(',')}]`);
const fetchArguments = shapedObject({
  user_id: fc.oneof(fc.constantFrom('me', 'alice@example.com', 'bob@example.com'), hostileString).map(text),
  label_ids: array(fc.oneof(fc.constantFrom('INBOX', 'UNREAD'), hostileString).map(text)),
  max_results: numberToken,
  include_payload: fc.constantFrom('true', 'false'),
  query: hostileString.map(text),
  page_token: hostileString.map(text),
});
const sendArguments = shapedObject({
  user_id: fc.oneof(fc.constant('me'), hostileString).map(text),
  to: fc.oneof(fc.constant('bob@example.com'), hostileString).map(text),
  subject: fc.oneof(fc.constant('Hi'), hostileString).map(text),
  body: fc.oneof(fc.constant('Hello'), hostileString).map(text),
});
const call = shapedObject({
  tool_slug: fc.oneof(fc.constantFrom('GMAIL_FETCH_EMAILS', 'GMAIL_SEND_EMAIL'), hostileString).map(text),
  arguments: fc.oneof(
    { weight: 3, arbitrary: fc.oneof(fetchArguments, sendArguments) },
    { weight: 1, arbitrary: hostileJson },
    { weight: 1, arbitrary: deepNesting.map((deep) => `{"a":${deep}}`) },
  ),
});
const envelope = shapedObject({
  tools: fc.oneof(
    {
      weight: 4,
      arbitrary: fc.array(call, { minLength: 1, maxLength: 3 }).map((calls) => `[${calls.join(',')}]`),
    },
    { weight: 1, arbitrary: hostileJson },
  ),
  sync_response_to_workbench: fc.constantFrom('true', 'false', '"yes"'),
  thought: hostileString.map(text),
  current_step: hostileString.map(text),
  // A few ids recur, so retries (same envelope: a replay; another: a 409) happen too.
  requestId: fc.oneof(fc.constantFrom('retry-1', 'retry-2', 'retry-3'), hostileShortString).map(text),
});

describe('POST /mcp/execute', () => {
  it('answers any envelope in the execute shape without a 5xx, and sends each email once', async () => {
    let expectedSends = 0;
    await checkProperty(
      'Gmail /mcp/execute',
      fc.asyncProperty(
        fc.oneof({ weight: 4, arbitrary: envelope }, { weight: 1, arbitrary: garbageBody(envelope) }),
        fc.oneof(
          { weight: 3, arbitrary: fc.constant('application/json' as string | undefined) },
          { weight: 1, arbitrary: contentType },
        ),
        framing,
        fc.option(fc.constantFrom('key-1', 'key-2'), { nil: undefined }),
        async (body, type, how, idempotencyKey) => {
          const before = gmail.mailbox.sent.length;
          const answer = await send(`${gmail.url}/mcp/execute`, {
            method: 'POST',
            headers: {
              ...(type === undefined ? {} : { 'content-type': type }),
              ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
            },
            body,
            ...(how.chunked ? { pieces: how.pieces } : {}),
          });
          // Finding 7: arguments nested thousands deep must be a 400, not a 500.
          expect(answer.status, answer.text.slice(0, 300)).toBeLessThan(500);
          const parsed = executeAnswerSchema.safeParse(JSON.parse(answer.text));
          expect(parsed.success, `not the execute shape: ${answer.text.slice(0, 300)}`).toBe(true);
          expectUnpolluted();
          if (answer.status !== 200 || !parsed.success || parsed.data.data === null) {
            expect(gmail.mailbox.sent.length, 'a refused request sent mail').toBe(before);
            return;
          }
          const sends = parsed.data.data.results.filter(
            (result) => result.tool_slug === 'GMAIL_SEND_EMAIL' && result.error === undefined,
          ).length;
          const replayed = answer.headers.get('idempotent-replayed') === 'true';
          expectedSends += replayed ? 0 : sends;
          expect(
            gmail.mailbox.sent.length,
            replayed ? 'a replay sent mail again' : 'sends do not match the results',
          ).toBe(before + (replayed ? 0 : sends));
        },
      ),
      1_200,
    );
    expect(gmail.mailbox.sent.length).toBe(expectedSends);
  });

  it('answers arguments nested thousands deep with a 400', async () => {
    await checkProperty(
      'Gmail deep arguments',
      fc.asyncProperty(fc.integer({ min: 1_000, max: 10_000 }), fc.boolean(), async (depth, arrays) => {
        const deep = arrays
          ? `${'['.repeat(depth)}${']'.repeat(depth)}`
          : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
        const answer = await send(`${gmail.url}/mcp/execute`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: `{"tools":[{"tool_slug":"GMAIL_SEND_EMAIL","arguments":{"to":${deep}}}]}`,
        });
        expect(answer.status, `depth ${depth}: ${answer.text.slice(0, 200)}`).toBe(400);
        expect(executeAnswerSchema.safeParse(JSON.parse(answer.text)).success).toBe(true);
      }),
      30,
    );
  });
});
