import type { Assistant } from '@steward/core';
import type { McpRegistry } from '@steward/mcp';
import type { HostConnections } from './frontend/connection-routes.ts';

/**
 * The pages' {@link HostConnections} over the MCP registry (the OAuth client: authorizations,
 * connections, tokens in the vault) and the assistant (the run's call that waits for a
 * connection, kept as an approval record of kind `authorization`, and its resumption). Every
 * method takes the signed-in user from the page's session: the registry completes an
 * authorization only for the user who started it.
 */
export function createRegistryConnections(registry: McpRegistry, assistant: Assistant): HostConnections {
  return {
    async list(userId) {
      return (await registry.connections(userId)).map((connection) => ({
        server: connection.server,
        status: connection.status,
        ...(connection.connectedAt === undefined ? {} : { connectedAt: connection.connectedAt }),
      }));
    },
    async begin(userId, server) {
      const { authorizationUrl, state } = await registry.beginAuthorization({ server, userId });
      return { authorizationUrl, state };
    },
    async complete(callback) {
      const completed = await registry.completeAuthorization(callback);
      return {
        server: completed.server,
        userId: completed.userId,
        ...(completed.runId === undefined ? {} : { runId: completed.runId }),
        ...(completed.callId === undefined ? {} : { callId: completed.callId }),
      };
    },
    disconnect: (userId, server) => registry.disconnect({ server, userId }),
    async waiting(userId, callId) {
      const approval = await assistant.storage.getApproval(callId, { userId, kind: 'authorization' });
      if (
        approval?.status !== 'pending' ||
        approval.server === undefined ||
        approval.authorizationUrl === undefined ||
        Date.parse(approval.expiresAt) <= Date.now()
      )
        return undefined;
      return {
        runId: approval.runId,
        sessionId: approval.sessionId,
        server: approval.server,
        authorizationUrl: approval.authorizationUrl,
      };
    },
    async resume(userId, runId, callId, outcome) {
      await assistant.completeAuthorization({ runId, callId, userId, outcome });
    },
  };
}
