import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { type Mailbox, MailboxError } from './mailbox.ts';
import type { Metrics } from './metrics.ts';
import { gmailTools, runTool, ToolArgumentsError } from './tools.ts';

/**
 * The signed-in user's mailbox and scopes, when the caller's access token came from the OAuth
 * mode's authorization server (service JWTs name no user: then `user_id` picks the mailbox).
 */
export function oauthPrincipal(
  authInfo: AuthInfo | undefined,
): { mailbox: string; scopes: string[] } | undefined {
  const mailbox = authInfo?.extra?.mailbox;
  return typeof mailbox === 'string' ? { mailbox, scopes: authInfo?.scopes ?? [] } : undefined;
}

/** An MCP protocol server for one session, over the shared mailbox. */
export function createGmailMcpServer(mailbox: Mailbox, metrics?: Metrics): Server {
  const server = new Server({ name: 'gmail-mock', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: gmailTools.map((tool) => ({
      name: tool.slug,
      description: tool.description,
      inputSchema: tool.inputSchema as { type: 'object' },
      annotations: tool.annotations,
    })),
  }));
  server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
    const tool = gmailTools.find((candidate) => candidate.slug === request.params.name);
    if (tool === undefined)
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool ${request.params.name}`);
    const principal = oauthPrincipal(extra.authInfo);
    // The HTTP layer answers 403 insufficient_scope before a call gets here; this is the backstop.
    if (principal !== undefined && !principal.scopes.includes(tool.scope)) {
      return {
        content: [{ type: 'text', text: `${tool.slug} needs the ${tool.scope} scope` }],
        isError: true,
      };
    }
    try {
      const result = runTool(mailbox, tool, request.params.arguments ?? {}, principal?.mailbox);
      metrics?.calls.inc({ tool: tool.slug, protocol: 'mcp', outcome: 'ok' });
      return {
        content: [{ type: 'text', text: JSON.stringify(result) }],
        structuredContent: result as Record<string, unknown>,
      };
    } catch (error) {
      metrics?.calls.inc({ tool: tool.slug, protocol: 'mcp', outcome: 'error' });
      if (error instanceof ToolArgumentsError)
        throw new McpError(ErrorCode.InvalidParams, error.message, { errors: error.errors });
      if (error instanceof MailboxError)
        return { content: [{ type: 'text', text: error.message }], isError: true };
      throw error;
    }
  });
  return server;
}
