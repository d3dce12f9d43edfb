import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runDemo } from './demo.ts';

describe('quickstart demo', () => {
  it('streams an answer that used the weather tool', async () => {
    let output = '';
    const result = await runDemo({
      question: 'Weather in Oslo?',
      chunkDelayMs: 0,
      write: (text) => (output += text),
    });
    expect(result.stopReason).toBe('stop');
    expect(output).toContain('[tool_request] get_weather({"city":"Oslo"})');
    expect(output).toContain('[tool_result]  {"city":"Oslo","celsius":18,"sky":"clear"}');
    expect(result.text).toContain('It is 18 °C with clear skies in Oslo');
  });
});

describe('README', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

  it('shows the usage snippet that src/readme-snippet.ts type-checks', () => {
    const snippet = /## Usage[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet).toBe(readFileSync(new URL('./readme-snippet.ts', import.meta.url), 'utf8'));
  });

  it('keeps exactly two Quick start command lines, the ones CI and newcomers run', () => {
    const block = /## Quick start[\s\S]*?```(?:sh|bash)?\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const commands = block.split('\n').filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
    expect(commands).toEqual([
      'bash scripts/with-node.sh npm run demo',
      'bash scripts/with-node.sh npm test',
    ]);
    expect(readFileSync(new URL('../../../.ci/run', import.meta.url), 'utf8')).toContain(commands[1]);
  });
});
