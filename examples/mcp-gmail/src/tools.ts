import { Ajv, type ErrorObject } from 'ajv';
import { checkJsonLimits } from './json-limits.ts';
import type { FetchEmailsArgs, Mailbox, SendEmailArgs } from './mailbox.ts';

/** GMAIL_FETCH_EMAILS's input, exactly as the architecture document defines it. */
export const fetchEmailsInputSchema = {
  type: 'object',
  properties: {
    user_id: { type: 'string' },
    label_ids: { type: 'array', items: { type: 'string' } },
    max_results: { type: 'integer', minimum: 1, maximum: 100 },
    include_payload: { type: 'boolean' },
    query: { type: 'string' },
    page_token: { type: 'string' },
  },
  required: ['user_id'],
} as const;

export const sendEmailInputSchema = {
  type: 'object',
  properties: {
    user_id: { type: 'string' },
    to: { type: 'string', pattern: '^[^@\\s]+@[^@\\s]+$' },
    subject: { type: 'string', minLength: 1, maxLength: 998 },
    body: { type: 'string', maxLength: 100_000 },
  },
  required: ['user_id', 'to', 'subject', 'body'],
  additionalProperties: false,
} as const;

/** One tool of the server, the same over MCP and over the plain-HTTP contract. */
export interface GmailTool {
  readonly slug: 'GMAIL_FETCH_EMAILS' | 'GMAIL_SEND_EMAIL';
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
  /** The OAuth scope a call needs, in the OAuth mode. */
  readonly scope: GmailScope;
  readonly annotations: {
    readOnlyHint: boolean;
    destructiveHint: boolean;
    idempotentHint: boolean;
    openWorldHint: boolean;
  };
  run(mailbox: Mailbox, args: unknown, principal: string | undefined): unknown;
}

/** The OAuth scopes of the Gmail mock: reading the mailbox, and sending from it. */
export type GmailScope = 'gmail.readonly' | 'gmail.send';

export const gmailTools: readonly GmailTool[] = [
  {
    slug: 'GMAIL_FETCH_EMAILS',
    description:
      'Lists emails in a mailbox, newest first. Filter by label_ids (all must match) and a query (text, or from:address); page with page_token.',
    inputSchema: fetchEmailsInputSchema,
    scope: 'gmail.readonly',
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    run: (mailbox, args, principal) => mailbox.fetch(args as FetchEmailsArgs, principal),
  },
  {
    slug: 'GMAIL_SEND_EMAIL',
    description: 'Sends an email from the user. This has side effects: it needs the user’s confirmation.',
    inputSchema: sendEmailInputSchema,
    scope: 'gmail.send',
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    run: (mailbox, args, principal) => mailbox.send(args as SendEmailArgs, principal),
  },
];

/** One reason a tool's arguments are refused: a JSON Pointer into them and what is wrong there. */
export interface ArgumentProblem {
  readonly path: string;
  readonly message: string;
}

/** At most this many problems are listed per call; a body of 10,000 bad items gets a count instead. */
const maxListedProblems = 100;

/** Arguments that fail a tool's schema or the JSON limits (`jsonLimits`), with every error. */
export class ToolArgumentsError extends Error {
  readonly errors: readonly ArgumentProblem[];
  constructor(slug: string, errors: readonly ArgumentProblem[]) {
    const list =
      errors.length <= maxListedProblems
        ? errors
        : [
            ...errors.slice(0, maxListedProblems),
            { path: '/', message: `and ${errors.length - maxListedProblems} more errors` },
          ];
    super(
      `Invalid arguments for ${slug}: ${list.map((error) => `${error.path} ${error.message}`).join('; ')}`,
    );
    this.errors = list;
  }
}

const ajv = new Ajv({ allErrors: true });
const validators = new Map(gmailTools.map((tool) => [tool.slug, ajv.compile(tool.inputSchema)]));

const fromAjv = (error: ErrorObject): ArgumentProblem => ({
  path: error.instancePath || '/',
  message: error.message ?? 'is invalid',
});

/**
 * Throws {@link ToolArgumentsError} with every error when `args` break the JSON limits (`jsonLimits`) or fail
 * the tool's schema. The limits come first: arguments past the value count are refused without
 * walking them further; arguments that are only too deep still get their schema errors (the
 * schema is two levels deep, so checking it costs nothing more).
 */
export function validateArguments(tool: GmailTool, args: unknown): void {
  const limit = checkJsonLimits(args);
  if (limit?.kind === 'size')
    throw new ToolArgumentsError(tool.slug, [{ path: limit.path, message: limit.message }]);
  const validate = validators.get(tool.slug);
  const schemaErrors = validate === undefined || validate(args) ? [] : (validate.errors ?? []).map(fromAjv);
  const errors =
    limit === undefined ? schemaErrors : [{ path: limit.path, message: limit.message }, ...schemaErrors];
  if (errors.length > 0) throw new ToolArgumentsError(tool.slug, errors);
}

/**
 * Validates `args` against the tool's schema (all errors), then runs it on `principal`'s mailbox
 * (see {@link Mailbox} for how the mailbox is chosen).
 */
export function runTool(mailbox: Mailbox, tool: GmailTool, args: unknown, principal?: string): unknown {
  validateArguments(tool, args);
  return tool.run(mailbox, args, principal);
}
