import {
  createToolOutput,
  isToolOutput,
  StewardError,
  type ToolDefinition,
  type ToolProvider,
} from '@steward/core';
import { ArgumentValidator } from './argument-validator.ts';
import type { BlobStore } from './blob-store.ts';

/** How results too large for a prompt are handled. */
export interface LargeResultOptions {
  readonly store: BlobStore;
  /** Results whose JSON is longer than this are stored. Default 16,000 characters. */
  readonly thresholdChars?: number | undefined;
  /** Characters of the result the model sees right away. Default 2,000. */
  readonly previewChars?: number | undefined;
}

/** The name of the tool that reads stored results back, page by page. */
export const readResultToolName = 'steward__read_result';
const maxPage = 16_000;

/** @internal The tool the model uses to fetch a stored result by its reference. */
const readResultTool: ToolDefinition = {
  name: readResultToolName,
  description: 'Reads a page of a large tool result that was stored instead of shown in full.',
  inputSchema: {
    type: 'object',
    properties: {
      id: { type: 'string', description: 'The blob id from the result reference' },
      offset: { type: 'integer', minimum: 0, description: 'Character offset to start at' },
      length: { type: 'integer', minimum: 1, maximum: maxPage, description: 'Characters to read' },
    },
    required: ['id'],
    additionalProperties: false,
  },
  sideEffect: false,
};

/**
 * @internal Stores a result above the threshold and returns a bounded preview with a reference
 * the model can follow through {@link readResultToolName}; smaller results pass unchanged.
 */
async function boundResult(result: unknown, options: LargeResultOptions | undefined): Promise<unknown> {
  if (options === undefined) return result;
  const text = typeof result === 'string' ? result : (JSON.stringify(result) ?? 'null');
  if (text.length <= (options.thresholdChars ?? 16_000)) return result;
  const id = await options.store.put(text, {
    contentType: typeof result === 'string' ? 'text/plain' : 'application/json',
  });
  return {
    truncated: true,
    preview: text.slice(0, options.previewChars ?? 2_000),
    total_chars: text.length,
    reference: { tool: readResultToolName, id },
  };
}

/**
 * @internal Adds large-result handling to a provider: results above the threshold are stored and
 * replaced by a preview and a reference, and `steward__read_result` is offered to read them.
 * Both tool providers of this package are wrapped the same way.
 */
export function withLargeResults<Provider extends ToolProvider>(
  provider: Provider,
  options: LargeResultOptions | undefined,
): Provider {
  if (options === undefined) return provider;
  const validator = new ArgumentValidator();
  return {
    ...provider,
    listTools: async (listOptions) => [...(await provider.listTools(listOptions)), readResultTool],
    async callTool(name, args, context) {
      if (name === readResultToolName) {
        validator.check(readResultTool.inputSchema, args, name);
        return readResult(options.store, args);
      }
      const result = await provider.callTool(name, args, context);
      // Links stay beside the value: only what the model reads is bounded.
      if (isToolOutput(result))
        return createToolOutput({
          value: await boundResult(result.value, options),
          ...(result.resourceLinks === undefined ? {} : { resourceLinks: result.resourceLinks }),
        });
      return boundResult(result, options);
    },
  };
}

/** @internal Serves a `steward__read_result` call. */
async function readResult(store: BlobStore, args: unknown) {
  const { id, offset = 0, length = maxPage } = args as { id: string; offset?: number; length?: number };
  const text = await store.get(id);
  if (text === undefined) throw new StewardError('tool_execution_failed', `No stored result has id ${id}`);
  const page = text.slice(offset, offset + Math.min(length, maxPage));
  return {
    id,
    offset,
    length: page.length,
    total_chars: text.length,
    text: page,
    done: offset + page.length >= text.length,
  };
}
