import { describe, expect, it } from 'vitest';
import { createScriptedModel } from '../testing/scripted-model.ts';
import type { ToolListContext, ToolProvider } from '../tools/tool-provider.ts';
import { Assistant } from './assistant.ts';
import { collect } from './test-helpers.ts';

describe('the run’s tool catalog', () => {
  it('tells each provider whose run lists, so a per-user catalog can follow the user', async () => {
    const listings: ToolListContext[] = [];
    const provider: ToolProvider = {
      name: 'per-user',
      listTools: async (context) => {
        listings.push(context ?? {});
        return [];
      },
      callTool: async () => null,
    };
    const assistant = new Assistant({ model: createScriptedModel([{ text: 'ok' }]), tools: [provider] });
    const run = assistant.run({ input: 'Hi', userId: 'alice' });
    await collect(run);

    expect(listings).toHaveLength(1);
    expect(listings[0]).toMatchObject({ userId: 'alice', runId: run.id, sessionId: run.sessionId });
    expect(listings[0]?.signal).toBeInstanceOf(AbortSignal);
  });
});
