export { createStewardApi, type HistoryMessage, type StewardApi } from './api.ts';
export { defaultApiLimits, type StewardApiOptions } from './api-options.ts';
export { type Authenticator, createJwtAuth, type JwtAuthOptions, type Principal } from './auth.ts';
export type { Authorizations, ConnectionStartView, ConnectionView } from './connections.ts';
export { type ErrorBody, HttpError, type HttpErrorCode } from './http-error.ts';
export { type NodeHandler, toNodeHandler } from './node-handler.ts';
export type { AuthorizationCompletionBody, AuthorizationCompletionView } from './oauth-completion.ts';
export type { RespondBody } from './request-schemas.ts';
export type { ApprovalView, InputView, RunView } from './run-access.ts';
export { type StewardServer, startStewardServer } from './server.ts';
export { sseFrame } from './sse.ts';
export type { ToolRegistrar } from './tool-registrar.ts';
export {
  attachWebSocket,
  type ClientFrame,
  closeCodes,
  type ProtocolErrorFrame,
  type WebSocketOptions,
} from './websocket.ts';
