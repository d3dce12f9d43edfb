export {
  createScriptedModel,
  type ScriptedModel,
  type ScriptedReply,
  type ScriptedStep,
} from '@steward/core/testing';
export {
  type MockMcpServer,
  type MockMcpServerOptions,
  startMockMcpServer,
} from './mock-mcp/mock-mcp-server.ts';
export { defaultMockTools, type MockMcpTool, type MockToolExtra } from './mock-mcp/mock-mcp-tools.ts';
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
