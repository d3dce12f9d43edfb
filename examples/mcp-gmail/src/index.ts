export {
  createGmailApp,
  discoveryDocument,
  type GmailApp,
  type GmailAppOptions,
  type GmailServerOptions,
  startGmailServer,
} from './app.ts';
export { type ExecuteResponse, Executor, executeEnvelopeSchema } from './execute.ts';
export { fixtureUsers, Mailbox, MailboxError, type MailMessage } from './mailbox.ts';
export { createGmailMcpServer } from './mcp-server.ts';
export {
  authFromEnvironment,
  type GmailAuthOptions,
  type GmailServerAuthOptions,
  requireServiceToken,
} from './service-auth.ts';
export { fetchEmailsInputSchema, gmailTools, sendEmailInputSchema } from './tools.ts';
