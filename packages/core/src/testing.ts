export { createMailTool } from './testing/mail-tool.ts';
export {
  createScriptedModel,
  type ScriptedModel,
  type ScriptedReply,
  type ScriptedStep,
} from './testing/scripted-model.ts';
