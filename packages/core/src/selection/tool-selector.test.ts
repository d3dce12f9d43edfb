import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Assistant } from '../assistant/assistant.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { defineTool } from '../tools/define-tool.ts';
import type { ToolDefinition } from '../tools/tool-provider.ts';
import { createHashEmbedder } from './embedder.ts';
import { createEmbeddingToolSelector } from './tool-selector.ts';

const domains = [
  'calendar',
  'invoice',
  'weather',
  'github',
  'slack',
  'drive',
  'crm',
  'jira',
  'stripe',
  'zoom',
];
const verbs = ['list', 'create', 'delete', 'update', 'search'];

function catalog(): ToolDefinition[] {
  return domains.flatMap((domain) =>
    verbs.map((verb) => ({
      name: `${domain}__${verb.toUpperCase()}_${domain.toUpperCase()}_ITEMS`,
      description: `${verb} ${domain} items`,
      inputSchema: { type: 'object', properties: {} },
      sideEffect: verb !== 'list' && verb !== 'search',
    })),
  );
}

describe('createEmbeddingToolSelector', () => {
  const signal = new AbortController().signal;

  it('offers the tools closest to the question, and always the pinned ones', async () => {
    const selector = createEmbeddingToolSelector({
      embedder: createHashEmbedder(),
      maxTools: 5,
      pinned: ['slack__LIST_SLACK_ITEMS'],
    });
    const chosen = await selector.select({
      tools: catalog(),
      input: 'What is the weather forecast, list weather items',
      signal,
    });
    expect(chosen).toHaveLength(5);
    expect(chosen[0]?.name).toBe('slack__LIST_SLACK_ITEMS');
    expect(chosen.slice(1).filter((tool) => tool.name.startsWith('weather__')).length).toBeGreaterThanOrEqual(
      3,
    );
  });

  it('passes small catalogs whole, and embeds each tool once across runs', async () => {
    let embedded = 0;
    const base = createHashEmbedder();
    const embedder = {
      dimensions: base.dimensions,
      embed: async (texts: readonly string[]) => {
        embedded += texts.length;
        return base.embed(texts);
      },
    };
    const selector = createEmbeddingToolSelector({ embedder, maxTools: 8 });
    const few = catalog().slice(0, 8);
    expect(await selector.select({ tools: few, input: 'x', signal })).toBe(few);
    await selector.select({ tools: catalog(), input: 'invoices', signal });
    await selector.select({ tools: catalog(), input: 'calendar', signal });
    expect(embedded).toBe(50 + 2);
  });

  it('narrows what an Assistant offers, and the model cannot call a tool it was not shown', async () => {
    const tools = domains.map((domain) =>
      defineTool({
        name: `${domain}_lookup`,
        description: `Looks up ${domain} records`,
        input: z.object({}),
        execute: () => domain,
      }),
    );
    const model = createScriptedModel([
      { toolCalls: [{ name: 'zoom_lookup', arguments: {} }] },
      { text: 'ok' },
    ]);
    const assistant = new Assistant({
      model,
      tools,
      toolSelector: createEmbeddingToolSelector({ embedder: createHashEmbedder(), maxTools: 2 }),
    });
    const events = [];
    for await (const event of assistant.run({ input: 'look up my invoice records', userId: 'u' }))
      events.push(event);
    const offered = model.requests[0]?.tools.map((tool) => tool.name) ?? [];
    expect(offered).toHaveLength(2);
    expect(offered).toContain('invoice_lookup');
    expect(events.find((event) => event.type === 'tool_result')).toMatchObject({
      error: { code: 'tool_not_found' },
    });
  });
});

describe('createHashEmbedder', () => {
  it('is deterministic, normalized, and ranks shared words higher', async () => {
    const embedder = createHashEmbedder({ dimensions: 64 });
    const [a, b, c] = await embedder.embed([
      'fetch emails from inbox',
      'GMAIL_FETCH_EMAILS',
      'delete calendar event',
    ]);
    expect(await embedder.embed(['fetch emails from inbox'])).toEqual([a]);
    expect(Math.hypot(...(a ?? []))).toBeCloseTo(1);
    const { cosineSimilarity } = await import('./embedder.ts');
    expect(cosineSimilarity(a ?? [], b ?? [])).toBeGreaterThan(cosineSimilarity(a ?? [], c ?? []));
  });
});
