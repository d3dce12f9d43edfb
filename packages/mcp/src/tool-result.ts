import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createToolOutput, type ResourceLink, StewardError } from '@steward/core';

type ContentBlock = CallToolResult['content'][number];

function blockText(block: ContentBlock): string | undefined {
  return block.type === 'text' ? block.text : undefined;
}

/** The `resource_link` blocks of a result, as core's links. */
function linksOf(content: readonly ContentBlock[]): ResourceLink[] {
  return content.flatMap((block) =>
    block.type === 'resource_link'
      ? [
          {
            uri: block.uri,
            name: block.name,
            ...(block.title === undefined ? {} : { title: block.title }),
            ...(block.description === undefined ? {} : { description: block.description }),
            ...(block.mimeType === undefined ? {} : { mimeType: block.mimeType }),
          },
        ]
      : [],
  );
}

/**
 * @internal What the model reads from an MCP tool result: `structuredContent` when the tool gave
 * one (the client has already checked it against the tool's `outputSchema`), else the text of the
 * content blocks, else the blocks themselves (images, resource links and embedded resources are
 * kept). Resource links also travel apart (a `ToolOutput`), so UIs can render them as links
 * whatever the model reads. An `isError` result becomes a tool error the model can read, not an
 * exception.
 */
export function toToolOutput(
  result: CallToolResult | { toolResult: unknown },
  server: string,
  tool: string,
): unknown {
  // Servers on the 2024-10-07 protocol answer with a bare `toolResult`.
  if (!('content' in result) && 'toolResult' in result) return result.toolResult;
  const content = result.content ?? [];
  const texts = content.map(blockText);
  const allText = texts.every((text) => text !== undefined);
  if (result.isError === true) {
    const message = allText && texts.length > 0 ? texts.join('\n') : 'the tool reported an error';
    throw new StewardError('tool_execution_failed', `${server}/${tool}: ${message}`, {
      details: { content },
    });
  }
  const value = result.structuredContent ?? (allText ? texts.join('\n') : content);
  const resourceLinks = linksOf(content);
  return resourceLinks.length === 0 ? value : createToolOutput({ value, resourceLinks });
}
