export { type BlobStore, createFileBlobStore } from './blob-store.ts';
export type { CircuitBreakerOptions, CircuitState } from './circuit-breaker.ts';
export { createHttpToolProvider, type HttpToolProviderOptions } from './http-tool-provider.ts';
export { type LargeResultOptions, readResultToolName } from './large-results.ts';
export { createMcpRegistry, type McpRegistry, type McpRegistryOptions } from './mcp-registry.ts';
export { createInMemoryRegistrationStore, type RegistrationStore } from './registration-store.ts';
export type { McpServerCommon, McpServerConfig } from './server-config.ts';
export type { McpConnectionState, McpServerStatus } from './server-connection.ts';
