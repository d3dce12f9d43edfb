#!/usr/bin/env node
// `steward-postgres migrate`: applies Steward's pending migrations, e.g. from a deploy step, so
// instances can start with `migrate: false`.
import { parseArgs } from 'node:util';
import { isStewardError } from '@steward/core';
import { migrations } from './migrations.ts';
import { createPostgresStorage } from './postgres-storage.ts';

const usage = `Usage: steward-postgres migrate [--connection-string <url>] [--schema <name>]

Applies Steward's pending forward-only migrations and prints the schema version before and after.

  --connection-string <url>  the database (default: the DATABASE_URL environment variable)
  --schema <name>            the schema Steward's tables live in (default: steward)
  --help                     this text`;

async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${usage}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== 'migrate') {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const connectionString = values['connection-string'] ?? process.env.DATABASE_URL;
  if (connectionString === undefined || connectionString === '') {
    process.stderr.write(`Give --connection-string or set DATABASE_URL.\n\n${usage}\n`);
    return 2;
  }
  const schema = values.schema ?? 'steward';
  let storage: ReturnType<typeof createPostgresStorage>;
  try {
    storage = createPostgresStorage({ connectionString, schema, migrate: false });
  } catch (error) {
    process.stderr.write(`${isStewardError(error) ? error.message : String(error)}\n`);
    return 2;
  }
  try {
    const report = await storage.migrate();
    process.stdout.write(
      `Steward schema "${schema}": version ${report.before} before, ${report.after} after.\n`,
    );
    for (const version of report.applied) {
      const name = migrations.find((migration) => migration.version === version)?.name ?? '';
      process.stdout.write(`  applied ${version}: ${name}\n`);
    }
    if (report.applied.length === 0) process.stdout.write('  already up to date\n');
    return 0;
  } catch (error) {
    // The message names the failing step and the database's own words (its cause) tell the
    // operator why; the connection string (and its password) is never printed.
    const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
    process.stderr.write(
      `Migration failed: ${error instanceof Error ? error.message : String(error)}${cause}\n`,
    );
    return 1;
  } finally {
    await storage.close();
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      'connection-string': { type: 'string' },
      schema: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

process.exitCode = await main(process.argv.slice(2));
