// The root entry is the OpenAI side only, so `startMockOpenAI` loads no MCP SDK: the mock MCP
// servers live at `@steward/testing/mock-mcp`, conformance suites (vitest) at `./conformance`.
export {
  createScriptedModel,
  type ScriptedModel,
  type ScriptedReply,
  type ScriptedStep,
  type ScriptedToolCall,
} from '@steward/core/testing';
export {
  type MockFault,
  type MockOpenAIOptions,
  type MockOpenAIServer,
  type MockReply,
  type MockReplyHandler,
  type MockRequest,
  type MockToolCall,
  startMockOpenAI,
} from './mock-openai.ts';
