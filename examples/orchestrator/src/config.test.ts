import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { formatProblems, loadConfig } from './config.ts';

const secret = 'a-test-secret-that-is-long-enough-for-hs256';
const valid = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/test',
  REDIS_URL: 'redis://127.0.0.1:6379',
  OPENAI_API_KEY: 'sk-test',
  STEWARD_MODEL: 'gpt-test',
  STEWARD_JWT_SECRET: secret,
};

describe('loadConfig', () => {
  it('reads a complete environment, with defaults for the rest', () => {
    const result = loadConfig({
      ...valid,
      STEWARD_MCP_SERVERS: JSON.stringify([
        { name: 'gmail', transport: 'streamable-http', url: 'http://gmail:8931/mcp', serviceAuth: {} },
      ]),
      STEWARD_MCP_JWT_SECRET: secret,
      STEWARD_RATE_LIMIT_RUNS: '20',
      STEWARD_JWT_AUDIENCE: 'steward, chat',
      PORT: '', // Empty means unset.
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      database: { schema: 'steward', migrate: true },
      redis: { prefix: 'steward' },
      auth: { secret, audience: ['steward', 'chat'] },
      model: { model: 'gpt-test', api: 'chat' },
      mcp: { servers: [{ name: 'gmail' }], serviceAuth: { issuer: 'steward' }, syncIntervalMs: 30_000 },
      rateLimit: { runs: 20, windowMs: 60_000 },
      maxActiveRuns: 5,
      drainTimeoutMs: 25_000,
      heartbeatMs: 5_000,
    });
  });

  it('limits every user by default (30 runs a minute, 5 active), and off turns a limit off', () => {
    const defaults = loadConfig(valid);
    expect(defaults.ok && defaults.config).toMatchObject({
      rateLimit: { runs: 30, windowMs: 60_000 },
      maxActiveRuns: 5,
    });
    const off = loadConfig({ ...valid, STEWARD_RATE_LIMIT_RUNS: 'off', STEWARD_MAX_ACTIVE_RUNS: ' off ' });
    expect(off.ok && off.config).toMatchObject({ rateLimit: false, maxActiveRuns: false });
    const other = loadConfig({
      ...valid,
      STEWARD_RATE_LIMIT_WINDOW_MS: '1000',
      STEWARD_MAX_ACTIVE_RUNS: '2',
    });
    expect(other.ok && other.config).toMatchObject({
      rateLimit: { runs: 30, windowMs: 1_000 },
      maxActiveRuns: 2,
    });
  });

  it('lists every problem at once, each naming its variable', () => {
    const result = loadConfig({
      REDIS_URL: 'http://127.0.0.1:6379',
      STEWARD_JWT_SECRET: 'short',
      PORT: '80a',
      STEWARD_DRAIN_TIMEOUT_MS: '-1',
      STEWARD_RATE_LIMIT_RUNS: 'off',
      STEWARD_RATE_LIMIT_WINDOW_MS: '1000',
      STEWARD_MAX_ACTIVE_RUNS: '0',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const named = (variable: string) =>
      result.problems.filter((problem) => problem.startsWith(`${variable}:`));
    for (const variable of [
      'DATABASE_URL',
      'REDIS_URL',
      'OPENAI_API_KEY',
      'STEWARD_MODEL',
      'STEWARD_JWT_SECRET',
      'PORT',
      'STEWARD_DRAIN_TIMEOUT_MS',
      'STEWARD_RATE_LIMIT_WINDOW_MS',
      'STEWARD_MAX_ACTIVE_RUNS',
    ])
      expect(named(variable), variable).toHaveLength(1);
    expect(named('DATABASE_URL')[0]).toMatch(/required/);
    expect(named('REDIS_URL')[0]).toMatch(/redis:\/\//);
    expect(named('STEWARD_MAX_ACTIVE_RUNS')[0]).toBe(
      'STEWARD_MAX_ACTIVE_RUNS: must be a whole number from 1 to 10000, or off',
    );
    expect(formatProblems(result.problems)).toMatch(/^The orchestrator is not configured \(9 problems\)/);
  });

  it('refuses malformed STEWARD_MCP_SERVERS without echoing it (it may hold secrets)', () => {
    const result = loadConfig({
      ...valid,
      STEWARD_MCP_SERVERS: '[{"name":"gmail","headers":{"x":"hunter2"}',
    });
    expect(result).toEqual({
      ok: false,
      problems: [
        'STEWARD_MCP_SERVERS: is not valid JSON (at position 42): expected an array of MCP server configs',
      ],
    });
  });

  it('checks each MCP server config: transport, URL, unknown fields, duplicates, service auth', () => {
    const result = loadConfig({
      ...valid,
      STEWARD_MCP_SERVERS: JSON.stringify([
        { name: 'gmail', transport: 'http', url: 'http://gmail/mcp' },
        { name: 'files', transport: 'stdio', command: 'npx', readonlyTools: [] },
        { name: 'files', transport: 'sse', url: 'ftp://files' },
        { name: 'calendar', transport: 'streamable-http', url: 'http://calendar/mcp', serviceAuth: {} },
      ]),
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      "STEWARD_MCP_SERVERS[0].transport: must be 'streamable-http', 'sse' or 'stdio'",
      'STEWARD_MCP_SERVERS[1]: unknown field readonlyTools',
      'STEWARD_MCP_SERVERS[2].url: must be an http:// or https:// URL',
    ]);
    const duplicate = loadConfig({
      ...valid,
      STEWARD_MCP_SERVERS: JSON.stringify([
        { name: 'files', transport: 'stdio', command: 'a' },
        { name: 'files', transport: 'stdio', command: 'b' },
        { name: 'calendar', transport: 'streamable-http', url: 'http://calendar/mcp', serviceAuth: {} },
      ]),
    });
    expect(duplicate.ok === false && duplicate.problems).toEqual([
      'STEWARD_MCP_SERVERS[1].name: files is listed twice',
    ]);
    const noSigner = loadConfig({
      ...valid,
      STEWARD_MCP_SERVERS: JSON.stringify([
        { name: 'calendar', transport: 'streamable-http', url: 'http://calendar/mcp', serviceAuth: {} },
      ]),
    });
    expect(noSigner.ok === false && noSigner.problems).toEqual([
      'STEWARD_MCP_SERVERS[0].serviceAuth: calendar asks for service JWTs, which need STEWARD_MCP_JWT_SECRET',
    ]);
  });

  it('reads the browser origins of STEWARD_CORS_ORIGINS, unset by default, and refuses anything but an exact origin', () => {
    const unset = loadConfig(valid);
    expect(unset.ok && unset.config.corsOrigins).toBeUndefined();
    const set = loadConfig({
      ...valid,
      STEWARD_CORS_ORIGINS: 'https://app.example.com, http://localhost:3100,',
    });
    expect(set.ok && set.config.corsOrigins).toEqual(['https://app.example.com', 'http://localhost:3100']);
    const bad = loadConfig({
      ...valid,
      STEWARD_CORS_ORIGINS: 'https://app.example.com/, *, https://*.example.com, app.example.com',
    });
    expect(bad.ok === false && bad.problems).toEqual(
      [0, 1, 2, 3].map(
        (index) =>
          `STEWARD_CORS_ORIGINS[${index}]: must be an origin exactly as browsers send it (https://app.example.com: lower case, no path or trailing slash)`,
      ),
    );
  });

  it('lets users connect OAuth servers only with the callback, the completion page and the vault keys all set', () => {
    const unset = loadConfig(valid);
    expect(unset.ok && unset.config.oauth).toBeUndefined();
    const oauth = {
      STEWARD_OAUTH_REDIRECT_URL: 'https://steward.example.com/api/v1/oauth/callback',
      STEWARD_OAUTH_COMPLETION_URL: 'https://app.example.com/connections/callback',
      STEWARD_VAULT_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
    };
    const servers = JSON.stringify([
      {
        name: 'gmail',
        transport: 'streamable-http',
        url: 'https://gmail.example/mcp',
        auth: { type: 'oauth' },
      },
    ]);
    const set = loadConfig({ ...valid, ...oauth, STEWARD_MCP_SERVERS: servers });
    expect(set.ok && set.config.oauth).toEqual({
      redirectUrl: oauth.STEWARD_OAUTH_REDIRECT_URL,
      completionUrl: oauth.STEWARD_OAUTH_COMPLETION_URL,
      vaultKeys: oauth.STEWARD_VAULT_KEYS,
    });
    expect(set.ok && set.config.mcp.servers[0]).toMatchObject({ auth: { type: 'oauth' } });

    // The callback without the page the browser goes on to (or the keys) is refused, not half-wired.
    const noPage = loadConfig({ ...valid, STEWARD_OAUTH_REDIRECT_URL: oauth.STEWARD_OAUTH_REDIRECT_URL });
    expect(noPage.ok === false && noPage.problems).toEqual([
      "STEWARD_OAUTH_COMPLETION_URL: is required with STEWARD_OAUTH_REDIRECT_URL (users connecting accounts need the callback, the host's completion page and the vault's keys)",
      "STEWARD_VAULT_KEYS: is required with STEWARD_OAUTH_REDIRECT_URL (users connecting accounts need the callback, the host's completion page and the vault's keys)",
    ]);
    const serverWithout = loadConfig({ ...valid, STEWARD_MCP_SERVERS: servers });
    expect(serverWithout.ok === false && serverWithout.problems).toEqual([
      'STEWARD_MCP_SERVERS[0].auth: gmail has users connect their accounts, which needs STEWARD_OAUTH_REDIRECT_URL, STEWARD_OAUTH_COMPLETION_URL and STEWARD_VAULT_KEYS',
    ]);
    const badUrl = loadConfig({ ...valid, ...oauth, STEWARD_OAUTH_COMPLETION_URL: 'javascript:alert(1)' });
    expect(badUrl.ok === false && badUrl.problems).toEqual([
      'STEWARD_OAUTH_COMPLETION_URL: must be a https:// or http:// URL, e.g. https://app.example.com/connections/callback',
    ]);
    const otherAuth = loadConfig({
      ...valid,
      ...oauth,
      STEWARD_MCP_SERVERS: JSON.stringify([
        {
          name: 'm',
          transport: 'streamable-http',
          url: 'https://m.example/mcp',
          auth: { type: 'client_credentials' },
        },
      ]),
    });
    expect(otherAuth.ok).toBe(false);
  });

  it('reads the registration allowlists, off by default, and refuses malformed entries', () => {
    const closed = loadConfig(valid);
    expect(closed.ok && closed.config.mcp.registrations).toEqual({ allowedOrigins: [], allowedNetworks: [] });
    const open = loadConfig({
      ...valid,
      STEWARD_MCP_ALLOWED_ORIGINS: 'https://gmail-mcp.internal, https://*.tools.example.com:8443,',
      STEWARD_MCP_ALLOWED_NETWORKS: '10.20.0.0/16, fd00::/8, 127.0.0.1',
    });
    expect(open.ok && open.config.mcp.registrations).toEqual({
      allowedOrigins: ['https://gmail-mcp.internal', 'https://*.tools.example.com:8443'],
      allowedNetworks: ['10.20.0.0/16', 'fd00::/8', '127.0.0.1'],
    });
    const bad = loadConfig({
      ...valid,
      STEWARD_MCP_ALLOWED_ORIGINS:
        '*, https://gmail-mcp.internal/mcp, gmail-mcp.internal, https://a.*.example.com',
      STEWARD_MCP_ALLOWED_NETWORKS: '10.0.0.0/33, gmail',
    });
    expect(bad.ok === false && bad.problems).toEqual([
      'STEWARD_MCP_ALLOWED_ORIGINS[1]: must be an origin (https://host[:port]), a subdomain pattern (https://*.example.com) or *',
      'STEWARD_MCP_ALLOWED_ORIGINS[2]: must be an origin (https://host[:port]), a subdomain pattern (https://*.example.com) or *',
      'STEWARD_MCP_ALLOWED_ORIGINS[3]: must be an origin (https://host[:port]), a subdomain pattern (https://*.example.com) or *',
      'STEWARD_MCP_ALLOWED_NETWORKS[0]: must be an IP address or a CIDR range, e.g. 10.0.0.0/8 or fd00::/8',
      'STEWARD_MCP_ALLOWED_NETWORKS[1]: must be an IP address or a CIDR range, e.g. 10.0.0.0/8 or fd00::/8',
    ]);
    const networksAlone = loadConfig({ ...valid, STEWARD_MCP_ALLOWED_NETWORKS: '10.0.0.0/8' });
    expect(networksAlone.ok === false && networksAlone.problems).toEqual([
      'STEWARD_MCP_ALLOWED_ORIGINS: is required when STEWARD_MCP_ALLOWED_NETWORKS is set (without origins, nothing can be registered)',
    ]);
  });

  it('needs a run-token secret when user tokens come from a JWKS only', () => {
    const { STEWARD_JWT_SECRET: _secret, ...withoutSecret } = valid;
    const result = loadConfig({ ...withoutSecret, STEWARD_JWKS_URL: 'https://login.example.com/jwks.json' });
    expect(result.ok === false && result.problems).toEqual([
      'STEWARD_RUN_TOKEN_SECRET: is required when only STEWARD_JWKS_URL is set (it signs run-scoped tokens)',
    ]);
    expect(
      loadConfig({
        ...withoutSecret,
        STEWARD_JWKS_URL: 'https://login.example.com/jwks.json',
        STEWARD_RUN_TOKEN_SECRET: secret,
      }).ok,
    ).toBe(true);
  });

  it('warns about STEWARD_ variables it does not know (a typo keeps a default)', () => {
    const result = loadConfig({ ...valid, STEWARD_DRAIN_TIMEOUT: '1000', STEWARD_TEST_DATABASE_URL: 'x' });
    expect(result.ok && result.warnings).toEqual([
      'STEWARD_DRAIN_TIMEOUT is not a variable this service reads (a typo?); it is ignored',
    ]);
  });
});

describe('node src/main.ts with a bad environment', () => {
  it('exits 1 before connecting anything, naming the missing DATABASE_URL', async () => {
    const { DATABASE_URL: _url, ...withoutDatabase } = valid;
    const { code, stderr, stdout } = await runMain(withoutDatabase);
    expect(code).toBe(1);
    expect(stderr).toContain('DATABASE_URL: is required');
    expect(stdout).toBe('');
  });

  it('exits 1 on malformed STEWARD_MCP_SERVERS JSON, naming the variable', async () => {
    const { code, stderr } = await runMain({ ...valid, STEWARD_MCP_SERVERS: '{not json' });
    expect(code).toBe(1);
    expect(stderr).toContain('STEWARD_MCP_SERVERS: is not valid JSON');
  });
});

/** Runs the service with exactly `environment` (nothing inherited but PATH), until it exits. */
function runMain(
  environment: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [new URL('./main.ts', import.meta.url).pathname], {
    env: { PATH: process.env.PATH ?? '', ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
