import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isStewardError } from '../errors/steward-error.ts';
import { defineTool } from './define-tool.ts';
import { createLocalToolProvider } from './local-tool-provider.ts';

const context = {
  signal: new AbortController().signal,
  runId: 'r',
  sessionId: 's',
  userId: 'u',
  callId: 'c',
  reportProgress: () => {},
};

describe('defineTool', () => {
  it('derives the JSON Schema from the zod input', () => {
    const tool = defineTool({
      name: 'search',
      description: 'Search mail',
      input: z.object({
        query: z.string().describe('What to look for'),
        limit: z.number().int().min(1).max(100).default(10),
      }),
      execute: () => [],
    });
    expect(tool.inputJsonSchema).toEqual({
      type: 'object',
      properties: {
        query: { type: 'string', description: 'What to look for' },
        limit: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
      },
      required: ['query'],
    });
    expect(tool.sideEffect).toBe(false);
  });

  it.each([
    ['a name OpenAI would reject', { name: 'has space', input: z.object({}) }, /name: must be 1-64/],
    ['a name over 64 characters', { name: 'x'.repeat(65), input: z.object({}) }, /name/],
    ['a non-object input', { name: 'ok', input: z.string() }, /must be a z.object\(\) schema/],
    [
      'an input with no JSON Schema form',
      { name: 'ok', input: z.object({ at: z.date() }) },
      /no JSON Schema form/,
    ],
  ])('rejects %s with invalid_options', (_label, config, message) => {
    let caught: unknown;
    try {
      defineTool({ description: 'd', execute: () => 1, ...config } as never);
    } catch (error) {
      caught = error;
    }
    expect(isStewardError(caught, 'invalid_options')).toBe(true);
    expect((caught as Error).message).toMatch(message);
  });
});

describe('createLocalToolProvider', () => {
  const echo = defineTool({
    name: 'echo',
    description: 'echo',
    input: z.object({ text: z.string().transform((text) => text.toUpperCase()) }),
    execute: ({ text }) => text,
  });

  it('validates and transforms arguments before execute', async () => {
    const provider = createLocalToolProvider([echo]);
    await expect(provider.callTool('echo', { text: 'hi' }, context)).resolves.toBe('HI');
    await expect(provider.callTool('echo', { text: 1 }, context)).rejects.toMatchObject({
      code: 'tool_invalid_arguments',
    });
    await expect(provider.callTool('missing', {}, context)).rejects.toMatchObject({ code: 'tool_not_found' });
  });

  it('refuses two tools with one name', () => {
    expect(() => createLocalToolProvider([echo, echo])).toThrow(
      expect.objectContaining({
        code: 'invalid_options',
        message: expect.stringMatching(/Two local tools are named "echo"/),
      }),
    );
  });
});
