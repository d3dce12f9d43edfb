export { createMailTool } from './testing/mail-tool.ts';
export {
  createScriptedModel,
  type ScriptedModel,
  type ScriptedReply,
  type ScriptedStep,
  type ScriptedToolCall,
} from './testing/scripted-model.ts';
