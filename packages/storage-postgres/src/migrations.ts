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
  {
    version: 4,
    name: 'users, usage records and user preferences',
    // Users and usage are filled from what earlier versions stored, so an upgrade starts complete.
    sql: `
      CREATE TABLE {schema}.users (
        id text PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      INSERT INTO {schema}.users (id, created_at)
        SELECT user_id, min(at) FROM (
          SELECT user_id, created_at AS at FROM {schema}.sessions
          UNION ALL SELECT user_id, granted_at FROM {schema}.tool_permissions
        ) known GROUP BY user_id;
      CREATE TABLE {schema}.usage_records (
        run_id text PRIMARY KEY,
        user_id text NOT NULL,
        session_id text NOT NULL,
        input_tokens bigint NOT NULL,
        output_tokens bigint NOT NULL,
        total_tokens bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX ON {schema}.usage_records (user_id, created_at);
      INSERT INTO {schema}.usage_records
          (run_id, user_id, session_id, input_tokens, output_tokens, total_tokens, created_at)
        SELECT id, user_id, session_id, coalesce((usage->>'input_tokens')::bigint, 0),
          coalesce((usage->>'output_tokens')::bigint, 0), coalesce((usage->>'total_tokens')::bigint, 0), updated_at
        FROM {schema}.runs WHERE usage IS NOT NULL;
      CREATE TABLE {schema}.user_preferences (
        user_id text NOT NULL,
        key text NOT NULL,
        value jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, key)
      );
    `,
  },
  {
    version: 5,
    name: 'token vault records',
    // Ciphertext only: the values are sealed by the vault in core before they get here. Ordered
    // by the primary key, which rotation pages through.
    sql: `
      CREATE TABLE {schema}.vault_records (
        owner text NOT NULL,
        kind text NOT NULL,
        name text NOT NULL,
        key_id text NOT NULL,
        wrapped_key bytea NOT NULL,
        iv bytea NOT NULL,
        ciphertext bytea NOT NULL,
        version integer NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (owner, kind, name)
      );
    `,
  },
  {
    version: 6,
    name: 'approvals of kind authorization',
    // A call may wait for its consent and then for its user to connect the call's server: one
    // record of each kind, so the key grows the kind. Existing rows are consents.
    sql: `
      ALTER TABLE {schema}.approvals
        ADD COLUMN kind text NOT NULL DEFAULT 'consent',
        ADD COLUMN server text,
        ADD COLUMN authorization_url text,
        ADD COLUMN scopes jsonb;
      ALTER TABLE {schema}.approvals DROP CONSTRAINT approvals_pkey;
      ALTER TABLE {schema}.approvals ADD PRIMARY KEY (call_id, kind);
    `,
  },
];
