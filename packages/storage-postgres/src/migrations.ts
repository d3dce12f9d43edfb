/** One forward-only schema change. Applied in order, once, and never edited after release. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** SQL with `{schema}` standing for the quoted schema name. */
  readonly sql: string;
}

/** Every migration, oldest first. New ones are appended; released ones never change. */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'sessions, messages, runs and run events',
    sql: `
      CREATE TABLE {schema}.sessions (
        id text PRIMARY KEY,
        user_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE {schema}.runs (
        id text PRIMARY KEY,
        session_id text NOT NULL REFERENCES {schema}.sessions (id),
        user_id text NOT NULL,
        status text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        stop_reason text,
        text text,
        partial boolean,
        usage jsonb,
        options jsonb,
        epoch integer NOT NULL DEFAULT 0
      );
      CREATE INDEX ON {schema}.runs (user_id, created_at);
      CREATE TABLE {schema}.messages (
        id bigserial PRIMARY KEY,
        session_id text NOT NULL REFERENCES {schema}.sessions (id),
        run_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        message jsonb NOT NULL
      );
      CREATE INDEX ON {schema}.messages (session_id, id);
      CREATE TABLE {schema}.run_events (
        run_id text NOT NULL REFERENCES {schema}.runs (id),
        seq integer NOT NULL,
        event jsonb NOT NULL,
        PRIMARY KEY (run_id, seq)
      );
    `,
  },
  {
    version: 2,
    name: 'approvals, execution ledger, audit log, tool permissions',
    sql: `
      CREATE TABLE {schema}.approvals (
        call_id text PRIMARY KEY,
        run_id text NOT NULL,
        session_id text NOT NULL,
        user_id text NOT NULL,
        tool_name text NOT NULL,
        args_hash text NOT NULL,
        args jsonb,
        status text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        decided_at timestamptz,
        decided_by text,
        reason text
      );
      CREATE INDEX ON {schema}.approvals (run_id);
      CREATE TABLE {schema}.executions (
        key text PRIMARY KEY,
        run_id text NOT NULL,
        call_id text NOT NULL,
        tool_name text NOT NULL,
        args_hash text NOT NULL,
        status text NOT NULL,
        started_at timestamptz NOT NULL,
        finished_at timestamptz,
        result jsonb,
        error jsonb
      );
      CREATE TABLE {schema}.audit_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL,
        action text NOT NULL,
        user_id text NOT NULL,
        actor text NOT NULL,
        run_id text,
        call_id text,
        tool_name text,
        args_hash text,
        detail text
      );
      CREATE INDEX ON {schema}.audit_log (user_id, id);
      CREATE INDEX ON {schema}.audit_log (run_id);
      CREATE TABLE {schema}.tool_permissions (
        user_id text NOT NULL,
        tool_name text NOT NULL,
        session_id text NOT NULL DEFAULT '',
        granted_at timestamptz NOT NULL,
        PRIMARY KEY (user_id, tool_name, session_id)
      );
    `,
  },
  {
    version: 3,
    name: 'MCP server registrations',
    sql: `
      CREATE TABLE {schema}.mcp_registrations (
        name text PRIMARY KEY,
        config jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
];
