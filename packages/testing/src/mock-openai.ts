export {
  type MockOpenAIOptions,
  type MockOpenAIServer,
  startMockOpenAI,
} from './mock-openai/mock-openai-server.ts';
export type {
  MockFault,
  MockReply,
  MockReplyHandler,
  MockRequest,
  MockToolCall,
} from './mock-openai/mock-reply.ts';
