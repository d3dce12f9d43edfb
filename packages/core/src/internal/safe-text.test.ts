import { describe, expect, it } from 'vitest';
import { Assistant } from '../assistant/assistant.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { safeIdSchema, safeTextSchema, unsafeTextReason } from './safe-text.ts';

describe('safeTextSchema and safeIdSchema', () => {
  it.each([
    ['NUL', 'a\u0000b', 'U+0000 at index 1'],
    ['a C0 control', '\u0001', 'U+0001 at index 0'],
    ['vertical tab', 'a\u000bb', 'U+000B'],
    ['escape', 'x\u001b[31m', 'U+001B'],
    ['DEL', 'a\u007f', 'U+007F'],
    ['a C1 control', 'a\u0085', 'U+0085'],
    ['a lone high surrogate', 'a\ud800', 'lone surrogate'],
    ['a lone low surrogate', '\udc00b', 'lone surrogate'],
  ])('refuses %s in free text, naming the character', (_name, value, reason) => {
    const parsed = safeTextSchema.safeParse(value);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toContain(reason);
  });

  it('allows ordinary whitespace, emoji and any script in free text', () => {
    for (const value of ['line one\nline two\r\n\ttabbed', '😀 ok', 'مرحبا‏', 'naïve café', '']) {
      expect(safeTextSchema.parse(value)).toBe(value);
    }
  });

  it.each([
    ['a space', 'a b'],
    ['a tab', 'a\tb'],
    ['a line feed', 'a\nb'],
    ['a no-break space', 'a\u00a0b'],
    ['a zero-width space', 'a\u200bb'],
    ['a bidi override', 'a\u202eb'],
    ['NUL', 'a\u0000'],
    ['a lone surrogate', 'a\ud800'],
  ])('refuses %s in an id', (_name, value) => {
    expect(safeIdSchema.safeParse(value).success).toBe(false);
  });

  it('allows the ids Steward and its hosts use', () => {
    for (const value of [
      crypto.randomUUID(),
      'ann-s1',
      'call_abc123',
      'auth0|5f7c',
      'ann@example.com',
      'gmail__GMAIL_SEND',
      'ünïcode',
    ]) {
      expect(unsafeTextReason(value, 'id')).toBeUndefined();
    }
  });

  it('keeps lengths and trimming chainable', () => {
    const input = safeTextSchema.trim().min(1).max(3);
    expect(input.parse(' ab ')).toBe('ab');
    expect(input.safeParse('abcd').success).toBe(false);
    expect(input.safeParse(' \u0000 ').success).toBe(false);
  });
});

describe('Assistant input at the boundary', () => {
  const assistant = () => {
    const storage = createInMemoryStorage();
    return { storage, assistant: new Assistant({ model: createScriptedModel([{ text: 'x' }]), storage }) };
  };

  it('throws invalid_input at once for a control character in input, user or session, storing nothing', async () => {
    const { assistant: subject, storage } = assistant();
    for (const input of [
      { input: 'a\u0000b', userId: 'ann' },
      { input: 'Hi', userId: 'ann\u0000' },
      { input: 'Hi', userId: 'ann', sessionId: 's\u0001' },
      { input: 'Hi', userId: 'ann', options: { toolOverrides: { allow: ['mail\u0000'] } } },
    ]) {
      expect(() => subject.run(input)).toThrow(expect.objectContaining({ code: 'invalid_input' }));
      await expect(subject.start(input)).rejects.toMatchObject({ code: 'invalid_input' });
    }
    expect(() => subject.run({ input: 'a\u0000b', userId: 'ann' })).toThrow(
      /input: must not contain a control character/,
    );
    expect(await storage.getSession('s\u0001', { userId: 'ann' })).toBeUndefined();
  });

  it('throws invalid_input for a control character in a call id or a reason', async () => {
    const { assistant: subject } = assistant();
    await expect(subject.approve('call\u0001', { userId: 'ann' })).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(subject.deny('call-1', { userId: 'ann', reason: 'no\u0000' })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('scope.reason'),
    });
    await expect(subject.stop('run\u0000', { userId: 'ann' })).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });

  it('accepts multi-line input with tabs', async () => {
    const { assistant: subject } = assistant();
    const run = subject.run({ input: 'first line\n\tsecond line\r\n', userId: 'ann' });
    expect((await run.result).stopReason).toBe('stop');
  });
});
