import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const example = fileURLToPath(new URL('./elicitation.ts', import.meta.url));

describe('the elicitation example of docs/mcp.md', () => {
  it('runs: the server asks, the answer (defaults filled in) reaches its tool', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [example], { timeout: 20_000 });
    expect(stdout.split('\n')).toEqual([
      "desk asks: Where would you like to sit? [ 'floor', 'quiet' ]",
      'answered: accept',
      'the tool says: Desk 3.07 (quiet zone) is free.',
      '',
    ]);
  });

  it('is the code docs/mcp.md shows', () => {
    const docs = readFileSync(new URL('../../../docs/mcp.md', import.meta.url), 'utf8');
    const snippet = /## Elicitation[\s\S]*?```ts\n([\s\S]*?)```/.exec(docs)?.[1];
    expect(snippet).toBe(readFileSync(example, 'utf8'));
  });
});
