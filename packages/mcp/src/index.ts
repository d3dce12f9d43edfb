export { type BlobStore, createFileBlobStore } from './blob-store.ts';
export type { CircuitBreakerOptions, CircuitState } from './circuit-breaker.ts';
export { createHttpToolProvider, type HttpToolProviderOptions } from './http-tool-provider.ts';
export { type LargeResultOptions, readResultToolName } from './large-results.ts';
export { createMcpRegistry, type McpRegistry, type McpRegistryOptions } from './mcp-registry.ts';
export type { McpAuthorizationResult, McpAuthorizationStart } from './oauth/authorization-flow.ts';
export type { McpAuthorizations } from './oauth/mcp-authorizations.ts';
export type { McpOAuthOptions, McpServerAuth } from './oauth/oauth-options.ts';
export type { McpConnection } from './oauth/oauth-servers.ts';
export type { McpServerRegistration } from './registration.ts';
export type { RegistrationRefusal } from './registration-error.ts';
export type { McpRegistrationPolicy } from './registration-policy.ts';
export { createInMemoryRegistrationStore, type RegistrationStore } from './registration-store.ts';
export type { McpServerCommon, McpServerConfig, McpStdioCommand } from './server-config.ts';
export type { McpConnectionState, McpServerStatus } from './server-connection.ts';
export { ServiceTokenError, type ServiceTokenFailure } from './service-token-error.ts';
export type { ServiceTokenAlgorithm, ServiceTokenKey } from './service-token-key.ts';
export {
  createServiceTokenSigner,
  type ServiceTokenSigner,
  type ServiceTokenSignerOptions,
} from './service-token-signer.ts';
export {
  createServiceTokenVerifier,
  type ServiceTokenClaims,
  type ServiceTokenVerifier,
  type ServiceTokenVerifierOptions,
} from './service-token-verifier.ts';
