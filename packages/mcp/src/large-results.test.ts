import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMockMcpServer } from '@steward/testing/mock-mcp';
import { describe, expect, it } from 'vitest';
import { createFileBlobStore } from './blob-store.ts';
import { createMcpRegistry } from './mcp-registry.ts';
import { callContext } from './test-helpers.ts';

describe('large results', () => {
  it('stores a result above the threshold and gives the model a preview and a reference it can read', async () => {
    const server = await startMockMcpServer();
    const store = createFileBlobStore({ directory: await mkdtemp(join(tmpdir(), 'steward-blobs-')) });
    const registry = createMcpRegistry({
      servers: [{ name: 'mock', transport: 'streamable-http', url: server.url }],
      largeResults: { store, thresholdChars: 1_000, previewChars: 100 },
    });
    try {
      await registry.ready();
      expect((await registry.listTools()).map((tool) => tool.name)).toContain('steward__read_result');
      const small = await registry.callTool('mock__big', { size: 500 }, callContext().context);
      expect(small).toBe('x'.repeat(500));
      const large = (await registry.callTool('mock__big', { size: 50_000 }, callContext().context)) as {
        truncated: boolean;
        preview: string;
        total_chars: number;
        reference: { tool: string; id: string };
      };
      expect(large).toMatchObject({
        truncated: true,
        total_chars: 50_000,
        reference: { tool: 'steward__read_result' },
      });
      expect(large.preview).toHaveLength(100);
      const page = (await registry.callTool(
        'steward__read_result',
        { id: large.reference.id, offset: 49_990 },
        callContext().context,
      )) as {
        text: string;
        done: boolean;
      };
      expect(page).toMatchObject({ text: 'x'.repeat(10), done: true });
      await expect(
        registry.callTool('steward__read_result', { id: '../../etc/passwd' }, callContext().context),
      ).rejects.toMatchObject({
        code: 'tool_invalid_arguments',
      });
      await expect(
        registry.callTool('steward__read_result', { id: 'a'.repeat(64) }, callContext().context),
      ).rejects.toMatchObject({
        code: 'tool_execution_failed',
      });
    } finally {
      await registry.close();
      await server.close();
    }
  });
});
