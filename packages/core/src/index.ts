export { Assistant, type AssistantEventMap } from './assistant/assistant.ts';
export type {
  AssistantInternals,
  AssistantLimits,
  AssistantOptions,
  RetryPolicy,
  RunAdmission,
  RunInput,
  RunOptions,
} from './assistant/assistant-options.ts';
export type { AuthorizationCompletion } from './assistant/authorization-completion.ts';
export { Run, type RunResult } from './assistant/run.ts';
export {
  type ConsentDecision,
  type ConsentPolicy,
  type ConsentRequest,
  createAllowAllConsentPolicy,
  createSideEffectConsentPolicy,
} from './consent/consent-policy.ts';
export type { Coordinator, RateLimitResult, SessionLease, SlotLease } from './coordination/coordinator.ts';
export {
  createInMemoryCoordinator,
  type InMemoryCoordinatorOptions,
} from './coordination/in-memory-coordinator.ts';
export type { StewardErrorCode, ToolErrorCode } from './errors/error-codes.ts';
export {
  isStewardError,
  isToolError,
  StewardError,
  type StewardErrorOptions,
  type ToolError,
} from './errors/steward-error.ts';
export { openInputRequests } from './events/open-inputs.ts';
export type {
  ApprovalRequiredEvent,
  ApprovalResolvedEvent,
  AuthorizationOutcome,
  AuthorizationRequiredEvent,
  AuthorizationResolvedEvent,
  ErrorEvent,
  EventBase,
  FinalEvent,
  InputRequiredEvent,
  InputResolvedEvent,
  ResourceLinkPayload,
  RunStartedEvent,
  StewardEvent,
  StewardEventType,
  StopReason,
  TokenEvent,
  ToolErrorPayload,
  ToolProgressEvent,
  ToolRequestEvent,
  ToolResultEvent,
  UsageEvent,
} from './events/stream-event.ts';
export { stewardEventSchema } from './events/stream-event-schema.ts';
export { type Usage, usageSchema } from './events/usage.ts';
export { parseOptions } from './internal/parse-options.ts';
export { safeIdSchema, safeTextSchema, unsafeTextReason } from './internal/safe-text.ts';
export type { Memory, MemoryEntry, MemoryItem, MemoryQuery } from './memory/memory.ts';
export type {
  LanguageModel,
  ModelFinishReason,
  ModelRequest,
  ModelStreamPart,
  ModelToolSpec,
} from './model/language-model.ts';
export {
  type AssistantMessage,
  type Message,
  messageSchema,
  type SystemMessage,
  type ToolCall,
  type ToolMessage,
  type UserMessage,
} from './model/message.ts';
export { createInMemoryTokenBudget } from './quota/in-memory-token-budget.ts';
export { costOf, defaultOpenAIPrices, type ModelPrice, type PriceTable, priceFor } from './quota/pricing.ts';
export {
  type BudgetPeriod,
  type BudgetRefusal,
  type BudgetVerdict,
  type PeriodWindow,
  periodWindows,
  quotaExceeded,
  type TokenBudget,
  type TokenBudgetLimits,
  type TokenBudgetOptions,
  tokenBudgetOptionsSchema,
  verdictOf,
} from './quota/token-budget.ts';
export {
  type CompactSessionOptions,
  compactSession,
  createSummaryMessage,
  isSummaryMessage,
  type SessionCompaction,
  type SummarizeOptions,
  summaryPrefix,
} from './retention/compact-session.ts';
export { cosineSimilarity, createHashEmbedder, type Embedder } from './selection/embedder.ts';
export {
  createEmbeddingToolSelector,
  type EmbeddingToolSelectorOptions,
  type ToolSelectionRequest,
  type ToolSelector,
} from './selection/tool-selector.ts';
export type {
  ApprovalKind,
  ApprovalRecord,
  ApprovalStatus,
  AuditAction,
  AuditEntry,
  ExecutionRecord,
  ToolPermission,
} from './storage/consent-records.ts';
export { createInMemoryStorage, type InMemoryStorageOptions } from './storage/in-memory-storage.ts';
export { checkRunFence, runFencedError } from './storage/run-fence.ts';
export type {
  CompactedMessages,
  ConsentStore,
  MessageCompaction,
  OwnerScope,
  RunFence,
  RunRecord,
  RunRecordOptions,
  RunStatus,
  RunUpdate,
  SessionRecord,
  Storage,
  StoredMessage,
} from './storage/storage.ts';
export { checkEventPage, checkStorable, type EventPage } from './storage/storage-checks.ts';
export type { TelemetryOptions } from './telemetry/telemetry-options.ts';
export { defineTool, type Tool, type ToolConfig, toolNamePattern } from './tools/define-tool.ts';
export {
  type InputAction,
  type InputContent,
  type InputFieldLabel,
  type InputFieldSchema,
  type InputRequest,
  type InputResponse,
  inputResponseSchema,
  type RequestedSchema,
  type TitledOption,
} from './tools/input-request.ts';
export { createLocalToolProvider } from './tools/local-tool-provider.ts';
export {
  createToolOutput,
  isToolOutput,
  isToolProvider,
  type ResourceLink,
  type ToolAnnotations,
  type ToolCallContext,
  type ToolDefinition,
  type ToolListContext,
  type ToolOutput,
  type ToolProgress,
  type ToolProvider,
} from './tools/tool-provider.ts';
export {
  createEnvironmentKeyProvider,
  type EnvironmentKeyProviderOptions,
  type VaultKey,
  vaultKeysVariable,
} from './vault/environment-key-provider.ts';
export { createInMemoryVaultStore } from './vault/in-memory-vault-store.ts';
export type { KeyProvider, KeyProviderCallOptions, WrappedKey } from './vault/key-provider.ts';
export {
  createTokenVault,
  type TokenVault,
  type TokenVaultOptions,
  type VaultCallOptions,
  type VaultEntry,
  type VaultRef,
} from './vault/token-vault.ts';
export type { VaultRotation, VaultRotationOptions } from './vault/vault-rotation.ts';
export type {
  VaultRecord,
  VaultRecordRef,
  VaultRecordSummary,
  VaultRotationPage,
  VaultStore,
} from './vault/vault-store.ts';
export type { VaultObject, VaultValue } from './vault/vault-value.ts';
