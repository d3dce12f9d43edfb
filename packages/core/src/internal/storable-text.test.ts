import { describe, expect, it } from 'vitest';
import {
  cutText,
  findUnstorableText,
  TextCleaner,
  toStorableText,
  toStorableValue,
} from './storable-text.ts';

describe('toStorableText', () => {
  it('returns the same string when there is nothing to replace, emoji and all', () => {
    for (const text of ['', 'plain', 'line\n\ttab', '😀 ok', 'naïve \uFFFD'])
      expect(toStorableText(text)).toBe(text);
  });

  it.each([
    ['NUL', 'a\u0000b\u0000', 'a\uFFFDb\uFFFD'],
    ['a lone high surrogate at the end', 'cut \ud83d', 'cut \uFFFD'],
    ['a lone low surrogate', '\ude00 x', '\uFFFD x'],
    ['both, beside a whole pair', '\u0000😀\ud800', '\uFFFD😀\uFFFD'],
  ])('replaces %s with U+FFFD', (_name, text, expected) => {
    expect(toStorableText(text)).toBe(expected);
  });
});

describe('toStorableValue', () => {
  it('returns the value itself when every string in it is storable', () => {
    const value = { a: ['x', { b: 'y' }], n: 1, none: null, flag: true };
    expect(toStorableValue(value)).toBe(value);
  });

  it('copies only the branch that changes, keys included, and leaves the input alone', () => {
    const untouched = { deep: ['kept'] };
    const value = { untouched, list: ['ok', 'bad\u0000'], 'k\ud800': 1 };
    const cleaned = toStorableValue(value);
    expect(cleaned).toEqual({ untouched, list: ['ok', 'bad\uFFFD'], 'k\uFFFD': 1 });
    expect(cleaned.untouched).toBe(untouched);
    expect(value.list[1]).toBe('bad\u0000');
  });
});

describe('findUnstorableText', () => {
  it('names the first offending string by its path, and a key that is not plain as […]', () => {
    expect(findUnstorableText({ events: [{ text: 'ok' }, { text: 'a\u0000' }] }, 'batch')).toBe(
      'batch.events[1].text',
    );
    expect(findUnstorableText({ 'odd key': { 'x\u0000': 1 } }, 'value')).toBe('value[…][…]');
    expect(findUnstorableText('\udc00', 'text')).toBe('text');
    expect(findUnstorableText({ fine: ['😀'] }, 'value')).toBeUndefined();
  });
});

describe('TextCleaner', () => {
  it('passes clean deltas through as they are, and holds half a pair back for the next delta', () => {
    const cleaner = new TextCleaner();
    const delta = 'plain 😀';
    expect(cleaner.push(delta)).toBe(delta);
    expect(cleaner.push('a\ud83d')).toBe('a');
    expect(cleaner.push('\ud83d')).toBe('\uFFFD');
    expect(cleaner.push('\ude00b\u0000')).toBe('😀b\uFFFD');
    expect(cleaner.push('\udbff')).toBe('');
    expect(cleaner.end()).toBe('\uFFFD');
    expect(cleaner.end()).toBe('');
  });
});

describe('cutText', () => {
  it('cuts at maxChars, one unit sooner when the cut would split a surrogate pair', () => {
    expect(cutText('abc', 5)).toBe('abc');
    expect(cutText('ab😀c', 3)).toBe('ab');
    expect(cutText('ab😀c', 4)).toBe('ab😀');
  });
});
