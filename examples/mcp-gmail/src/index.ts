export {
  createGmailApp,
  discoveryDocument,
  type GmailApp,
  type GmailAppAuthOptions,
  type GmailAppOptions,
  type GmailServerAuthMode,
  type GmailServerOptions,
  startGmailServer,
} from './app.ts';
export { type DnsRebindingOptions, protectFromDnsRebinding } from './dns-rebinding.ts';
export { authModeFromEnvironment, dnsRebindingFromEnvironment, oauthFromEnvironment } from './environment.ts';
export { type ExecuteResponse, Executor, executeEnvelopeSchema } from './execute.ts';
export { fixtureUsers, Mailbox, MailboxError, type MailMessage, type SentEmail } from './mailbox.ts';
export { createGmailMcpServer } from './mcp-server.ts';
export {
  demoUsers,
  type GmailOAuthOptions,
  type GmailOAuthUser,
  type GmailServerOAuthOptions,
  resourceScopes,
  type TokenEndpointAuthMethod,
} from './oauth/options.ts';
export { createGmailOAuth, type GmailOAuth, type OAuthRequestRecord } from './oauth/server.ts';
export {
  authFromEnvironment,
  type GmailAuthOptions,
  type GmailServerAuthOptions,
  requireServiceToken,
} from './service-auth.ts';
export { fetchEmailsInputSchema, type GmailScope, gmailTools, sendEmailInputSchema } from './tools.ts';
