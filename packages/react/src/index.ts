export type {
  AssistantChatMessage,
  ChatMessage,
  ToolApproval,
  ToolAuthorization,
  ToolCard,
  ToolCardError,
  ToolCardStatus,
  ToolInputRequest,
  ToolProgress,
  UserChatMessage,
} from './chat-message.ts';
export type { AssistantError, AssistantStatus } from './chat-reducer.ts';
export type { HistoryMessage } from './history-messages.ts';
export {
  type UseAssistantClientOptions,
  type UseAssistantOptions,
  type UseAssistantResult,
  type UseAssistantUrlOptions,
  useAssistant,
} from './use-assistant.ts';
