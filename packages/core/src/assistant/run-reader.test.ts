import { describe, expect, it } from 'vitest';
import type { StewardEvent } from '../events/stream-event.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import type { Storage } from '../storage/storage.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { Assistant } from './assistant.ts';
import { collect } from './test-helpers.ts';

/** Storage that records the size of every `listEvents` answer. */
function countingReads(base: Storage) {
  const reads: { limit: number | undefined; returned: number }[] = [];
  const storage = new Proxy(base, {
    get: (target, property, receiver) =>
      property === 'listEvents'
        ? async (...args: Parameters<Storage['listEvents']>) => {
            const events = await target.listEvents(...args);
            reads.push({ limit: args[1].limit, returned: events.length });
            return events;
          }
        : Reflect.get(target, property, receiver),
  });
  return { storage, reads };
}

describe('streamRun: bounded memory per reader', () => {
  it('replays a long run page by page, never asking storage for the whole log', async () => {
    const words = Array.from({ length: 3_000 }, (_value, index) => `w${index}`).join(' ');
    const base = createInMemoryStorage();
    const writer = new Assistant({ model: createScriptedModel([{ text: words }]), storage: base });
    const run = writer.run({ input: 'Hi', userId: 'u1' });
    const live = await collect(run);
    expect(live.length).toBeGreaterThan(3_000);

    const { storage, reads } = countingReads(base);
    const reader = new Assistant({ model: createScriptedModel([]), storage });
    const replayed: StewardEvent[] = [];
    for await (const event of reader.streamRun(run.id, { userId: 'u1' })) replayed.push(event);
    expect(replayed).toEqual(live);
    expect(reads.length).toBeGreaterThan(1);
    for (const read of reads) {
      expect(read.limit).toBeDefined();
      expect(read.limit).toBeLessThanOrEqual(256);
    }
  });

  it('resumes a replay from any seq with the same pages', async () => {
    const words = Array.from({ length: 600 }, (_value, index) => `w${index}`).join(' ');
    const storage = createInMemoryStorage();
    const writer = new Assistant({ model: createScriptedModel([{ text: words }]), storage });
    const run = writer.run({ input: 'Hi', userId: 'u1' });
    const live = await collect(run);
    const reader = new Assistant({ model: createScriptedModel([]), storage });
    for (const afterSeq of [1, 255, 256, 257, 512, live.length - 1]) {
      const replayed: StewardEvent[] = [];
      for await (const event of reader.streamRun(run.id, { userId: 'u1', afterSeq })) replayed.push(event);
      expect(replayed).toEqual(live.slice(afterSeq));
    }
  });
});
