import { describe, expect, it } from 'vitest';
import type { Message } from '../model/message.ts';
import { buildPrompt, estimateTokens, repairToolPairs } from './prompt-builder.ts';

const call = (callId: string) => ({ callId, name: 'f', arguments: '{}' });

describe('repairToolPairs', () => {
  it('drops a tool result whose call was trimmed away', () => {
    const messages: Message[] = [
      { role: 'tool', callId: 'gone', toolName: 'f', content: '1' },
      { role: 'user', content: 'hi' },
    ];
    expect(repairToolPairs(messages)).toEqual([{ role: 'user', content: 'hi' }]);
  });

  it('answers a call that never got a result, so providers accept the history', () => {
    const messages: Message[] = [
      { role: 'assistant', content: '', toolCalls: [call('a'), call('b')] },
      { role: 'tool', callId: 'b', toolName: 'f', content: 'ok' },
    ];
    const repaired = repairToolPairs(messages);
    expect(
      repaired.map((message) =>
        message.role === 'tool' ? `${message.callId}:${message.isError === true}` : message.role,
      ),
    ).toEqual(['assistant', 'a:true', 'b:false']);
  });
});

it('moves each result right after its call when two runs interleaved', () => {
  const messages: Message[] = [
    { role: 'user', content: 'first' },
    { role: 'assistant', content: '', toolCalls: [call('a')] },
    { role: 'user', content: 'second' },
    { role: 'assistant', content: 'answer to second' },
    { role: 'tool', callId: 'a', toolName: 'f', content: 'late' },
  ];
  expect(repairToolPairs(messages).map((message) => message.role)).toEqual([
    'user',
    'assistant',
    'tool',
    'user',
    'assistant',
  ]);
});

describe('buildPrompt', () => {
  it('keeps the newest history within budget and always the current run', () => {
    const history: Message[] = [
      { role: 'user', content: 'x'.repeat(400) },
      { role: 'assistant', content: 'short' },
    ];
    const current: Message[] = [{ role: 'user', content: 'y'.repeat(4_000) }];
    const prompt = buildPrompt({
      system: 'S',
      memories: [],
      history,
      current,
      historyTokens: 10,
      countTokens: estimateTokens,
    });
    expect(prompt.map((message) => message.content.slice(0, 5))).toEqual(['S', 'short', 'yyyyy']);
  });

  it('leaves the system message out when there is nothing to say', () => {
    const prompt = buildPrompt({
      system: '',
      memories: [],
      history: [],
      current: [{ role: 'user', content: 'q' }],
      historyTokens: 10,
      countTokens: estimateTokens,
    });
    expect(prompt).toEqual([{ role: 'user', content: 'q' }]);
  });
});
