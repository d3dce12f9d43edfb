import { describe, expect, it } from 'vitest';
import { modelToolName } from './tool-names.ts';

describe('modelToolName', () => {
  it('prefixes the server and keeps valid names as they are', () => {
    expect(modelToolName('gmail', 'GMAIL_FETCH_EMAILS')).toBe('gmail__GMAIL_FETCH_EMAILS');
  });

  it('maps names OpenAI would reject into its 64-character pattern, without collisions', () => {
    const names = [
      modelToolName('docs', 'search.pages'),
      modelToolName('docs', 'search/pages'),
      modelToolName('docs', `x${'y'.repeat(80)}`),
      modelToolName('docs', `x${'y'.repeat(81)}`),
    ];
    for (const name of names) expect(name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    expect(new Set(names).size).toBe(names.length);
  });
});
