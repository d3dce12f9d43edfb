import { isStewardError } from '@steward/core';
import { parseStoredRow, type ResolvedRegistration } from './registration.ts';
import { refusalOf } from './registration-error.ts';
import type { RegistrationPolicy } from './registration-policy.ts';
import type { ResolvedServerConfig } from './server-config.ts';

/** @internal What the registry does with one store row. */
export type RowAdmission =
  | { readonly kind: 'registration'; readonly name: string; readonly registration: ResolvedRegistration }
  | { readonly kind: 'command'; readonly name: string; readonly config: ResolvedServerConfig }
  | { readonly kind: 'skipped' };

const nameOf = (value: unknown) => {
  const name = (value as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name.slice(0, 64) : '(unnamed)';
};

/**
 * @internal Decides what a store row may become. A row is untrusted: it is parsed as a
 * registration (network only, origin and addresses checked, a stored audience ignored), and a
 * stdio row runs only the operator's own entry for exactly that command. A row not admitted is
 * left in the store untouched; `warn` says why.
 */
export async function admitStoredRow(
  value: unknown,
  policy: RegistrationPolicy,
  operatorNames: ReadonlySet<string>,
  warn: (message: string, cause?: unknown) => void,
): Promise<RowAdmission> {
  const parsed = parseStoredRow(value);
  if ('problem' in parsed) {
    warn(`Stored MCP registration ${nameOf(value)} is malformed and was not loaded: ${parsed.problem}`);
    return { kind: 'skipped' };
  }
  const { row } = parsed;
  if (operatorNames.has(row.name)) {
    warn(
      `Stored MCP registration ${row.name} was not loaded: the operator's configuration has a server of that name`,
    );
    return { kind: 'skipped' };
  }
  if (row.transport === 'stdio') {
    const allowed = policy.allowedCommand(row);
    if (allowed === undefined) {
      warn(
        `Stored MCP registration ${row.name} names a stdio command, which was not spawned: stdio servers run only from the operator's configuration (servers, or registrations.allowedCommands)`,
      );
      return { kind: 'skipped' };
    }
    const { command, args, env, cwd } = allowed;
    return {
      kind: 'command',
      name: row.name,
      config: {
        name: row.name,
        readOnlyTools: row.readOnlyTools,
        trustReadOnlyHints: row.trustReadOnlyHints,
        callTimeoutMs: row.callTimeoutMs,
        transport: 'stdio',
        command,
        args,
        ...(env === undefined ? {} : { env }),
        ...(cwd === undefined ? {} : { cwd }),
      },
    };
  }
  try {
    await policy.check(row.url);
  } catch (error) {
    // A name that does not resolve now may later: every connection checks it again.
    if (!(isStewardError(error) && refusalOf(error) === 'host_unresolved')) {
      warn(`Stored MCP registration ${row.name} was not loaded: ${(error as Error).message}`, error);
      return { kind: 'skipped' };
    }
  }
  const { serviceAuth, ...rest } = row;
  if (serviceAuth?.audience !== undefined)
    warn(
      `Stored MCP registration ${row.name}: its serviceAuth.audience is ignored; its service tokens are minted for the origin of its url`,
    );
  return {
    kind: 'registration',
    name: row.name,
    registration: { ...rest, ...(serviceAuth === undefined ? {} : { serviceAuth: {} }) },
  };
}
