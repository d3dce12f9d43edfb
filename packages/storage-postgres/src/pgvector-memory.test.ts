import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { Assistant, createHashEmbedder, type StewardError } from '@steward/core';
import { createScriptedModel } from '@steward/core/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgVectorMemory, type PgVectorMemory } from './pgvector-memory.ts';

const connectionString = process.env.STEWARD_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const embedder = createHashEmbedder({ dimensions: 256 });
const signal = new AbortController().signal;
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function remember(memory: PgVectorMemory, userId: string, input: string, output: string) {
  await memory.remember(
    { userId, sessionId: `${userId}-session`, runId: `run-${input.length}`, input, output },
    { signal },
  );
}

async function exercise(memory: PgVectorMemory) {
  await remember(memory, 'alice', 'I drink green tea every morning', 'Noted: green tea.');
  await remember(memory, 'alice', 'Book my flight to Lisbon', 'Booked the Lisbon flight.');
  await remember(memory, 'alice', 'Pay the invoice from the printer company', 'Paid.');
  await remember(memory, 'bob', 'I only drink black coffee, tea is awful', 'Noted.');
  const found = await memory.retrieve(
    { userId: 'alice', sessionId: 'x', text: 'which tea does she drink', limit: 2 },
    { signal },
  );
  expect(found[0]?.text).toContain('green tea');
  expect(found[0]?.metadata).toMatchObject({ sessionId: 'alice-session' });
  expect(found.every((item) => !item.text.includes('coffee'))).toBe(true);
  expect(
    await memory.retrieve({ userId: 'carol', sessionId: 'x', text: 'tea', limit: 5 }, { signal }),
  ).toEqual([]);
  expect(await memory.forgetUser('alice')).toBe(3);
  expect(
    await memory.retrieve({ userId: 'alice', sessionId: 'x', text: 'tea', limit: 5 }, { signal }),
  ).toEqual([]);
  expect(
    await memory.retrieve({ userId: 'bob', sessionId: 'x', text: 'tea', limit: 5 }, { signal }),
  ).toHaveLength(1);
}

describe('createPgVectorMemory', () => {
  it('searches with pgvector’s HNSW index on PGlite, always within one user', async () => {
    const database = new PGlite({ extensions: { vector } });
    const memory = createPgVectorMemory({ pglite: database, schema: 'memory_pgvector', embedder });
    cleanups.push(() => database.close());
    expect(await memory.mode()).toBe('pgvector');
    await exercise(memory);
  });

  it('falls back to an exact scan, and says so, on a server without pgvector', async () => {
    const schema = `memory_exact_${process.pid}_${Date.now().toString(36)}`;
    const warnings: StewardError[] = [];
    const memory = createPgVectorMemory({
      connectionString,
      schema,
      embedder,
      onWarning: (warning) => warnings.push(warning),
    });
    cleanups.push(async () => {
      await memory.close();
      const admin = new pg.Client({ connectionString });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
      await admin.end();
    });
    const mode = await memory.mode();
    if (mode === 'exact-scan')
      expect(warnings).toEqual([
        expect.objectContaining({
          code: 'storage_error',
          details: { reason: 'pgvector_unavailable' },
          message: expect.stringContaining('pgvector is not available'),
        }),
      ]);
    else expect(warnings).toEqual([]);
    await exercise(memory);
  });

  it('feeds an Assistant’s prompt with the user’s memories', async () => {
    const database = new PGlite({ extensions: { vector } });
    cleanups.push(() => database.close());
    const memory = createPgVectorMemory({ pglite: database, schema: 'memory_assistant', embedder });
    const model = createScriptedModel([{ text: 'Noted, green tea.' }, { text: 'Green tea.' }]);
    const assistant = new Assistant({ model, memory, system: 'Be brief.' });
    await assistant.run({ input: 'I drink green tea every morning', userId: 'alice' }).result;
    await assistant.run({ input: 'What tea do I drink?', userId: 'alice' }).result;
    expect(model.requests[1]?.messages[0]?.content).toContain('green tea every morning');
  });

  it('refuses text it cannot store before paying for its embedding', async () => {
    let embedded = 0;
    const counting = {
      dimensions: 8,
      embed: async (texts: readonly string[]) => {
        embedded++;
        return texts.map(() => Array(8).fill(0.5));
      },
    };
    const memory = createPgVectorMemory({ connectionString, schema: 'unused', embedder: counting });
    cleanups.push(() => memory.close());
    const entry = { userId: 'ann', sessionId: 's', runId: 'r', input: 'tea', output: 'ok' };
    await expect(memory.remember({ ...entry, input: 'tea\u0000' }, { signal })).rejects.toMatchObject({
      code: 'storage_error',
      details: { field: 'memory.input', reason: 'unstorable_text' },
    });
    await expect(memory.remember({ ...entry, output: '\udc00' }, { signal })).rejects.toMatchObject({
      details: { field: 'memory.output' },
    });
    expect(embedded).toBe(0);
  });

  it('rejects bad options with a typed error', () => {
    expect(() => createPgVectorMemory({ embedder } as never)).toThrow(
      expect.objectContaining({ code: 'invalid_options' }),
    );
  });
});
