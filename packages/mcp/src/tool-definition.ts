import type { Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import type { ToolDefinition } from '@steward/core';
import type { ResolvedServerConfig } from './server-config.ts';
import { modelToolName } from './tool-names.ts';

/** @internal What the model sees of `tool`: a side effect unless the host trusts it to be read-only. */
export function toDefinition(server: ResolvedServerConfig, tool: McpTool): ToolDefinition {
  const readOnly =
    server.readOnlyTools.includes(tool.name) ||
    (server.trustReadOnlyHints && tool.annotations?.readOnlyHint === true);
  return {
    name: modelToolName(server.name, tool.name),
    description: tool.description ?? tool.title ?? tool.name,
    inputSchema: tool.inputSchema,
    sideEffect: !readOnly,
    ...(tool.title === undefined ? {} : { title: tool.title }),
    ...(tool.annotations === undefined ? {} : { annotations: tool.annotations }),
  };
}
