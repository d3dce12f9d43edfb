import { z } from 'zod';
import { isStewardError, StewardError } from '../errors/steward-error.ts';
import type { Tool } from './define-tool.ts';
import type { ToolCallContext, ToolDefinition, ToolProvider } from './tool-provider.ts';

/**
 * Serves {@link defineTool} tools behind the {@link ToolProvider} seam: validates arguments and
 * results with the tools' zod schemas and maps failures to typed tool errors.
 */
export function createLocalToolProvider(
  tools: readonly Tool[],
  options: { name?: string } = {},
): ToolProvider {
  const byName = new Map<string, Tool>();
  for (const tool of tools) {
    if (byName.has(tool.name)) {
      throw new StewardError('invalid_options', `Two local tools are named "${tool.name}"`);
    }
    byName.set(tool.name, tool);
  }
  const definitions: readonly ToolDefinition[] = tools.map((tool) => ({
    name: tool.name,
    description: tool.description,
    inputSchema: tool.inputJsonSchema,
    sideEffect: tool.sideEffect,
    ...(tool.annotations === undefined ? {} : { annotations: tool.annotations }),
  }));

  return {
    name: options.name ?? 'local',
    listTools: async () => definitions,
    async callTool(name: string, args: unknown, context: ToolCallContext): Promise<unknown> {
      const tool = byName.get(name);
      if (tool === undefined) throw new StewardError('tool_not_found', `No local tool is named "${name}"`);
      const parsed = tool.input.safeParse(args);
      if (!parsed.success) {
        throw new StewardError(
          'tool_invalid_arguments',
          `Invalid arguments for ${name}: ${z.prettifyError(parsed.error)}`,
          {
            details: { issues: parsed.error.issues },
          },
        );
      }
      let result: unknown;
      try {
        result = await tool.execute(parsed.data, context);
      } catch (error) {
        if (isStewardError(error)) throw error;
        const message = error instanceof Error ? error.message : String(error);
        throw new StewardError('tool_execution_failed', `${name} failed: ${message}`, { cause: error });
      }
      if (tool.output === undefined) return result;
      const checked = tool.output.safeParse(result);
      if (!checked.success) {
        throw new StewardError(
          'tool_invalid_output',
          `${name} returned output its schema rejects: ${z.prettifyError(checked.error)}`,
          {
            details: { issues: checked.error.issues },
          },
        );
      }
      return checked.data;
    },
  };
}
