import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** An orchestrator running as its own process, started by {@link startOrchestratorProcess}. */
export interface OrchestratorProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>`, from its `listening` log line. */
  readonly url: string;
  /** Resolves once the process ended: its exit code, or the signal that ended it. */
  readonly exited: Promise<number | string | null>;
  /** Every line it printed, stdout and stderr. */
  readonly lines: readonly string[];
  /** Whether the process is still running. */
  alive(): boolean;
  /** Ends it if it still runs: SIGTERM (a graceful drain), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Spawns `node src/main.ts` with exactly `environment` (plus PATH: nothing of the caller's own
 * environment leaks in, so a test states every setting it depends on) and resolves once it logs
 * `listening`. Tests in this package, the reliability suite and the hosts' browser tests start
 * the orchestrator this way, in another process, as a deployment runs it.
 */
export function startOrchestratorProcess(
  name: string,
  environment: Record<string, string>,
): Promise<OrchestratorProcess> {
  const child = spawn(process.execPath, [new URL('./main.ts', import.meta.url).pathname], {
    env: { PATH: process.env.PATH ?? '', ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  const stop = async (graceMs = 10_000) => {
    if (!alive()) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  createInterface({ input: child.stderr }).on('line', (line) => lines.push(line));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      const entry = parseLogLine(line);
      if (entry?.msg === 'listening' && typeof entry.url === 'string')
        resolve({ name, child, url: entry.url, exited, lines, alive, stop });
    });
    void exited.then((code) =>
      reject(new Error(`orchestrator ${name} exited (${code}) before listening:\n${lines.join('\n')}`)),
    );
  });
}

/** The JSON log entries of a process with this `msg`. */
export function logEntries(
  orchestrator: Pick<OrchestratorProcess, 'lines'>,
  message: string,
): Record<string, unknown>[] {
  return orchestrator.lines.map(parseLogLine).filter((entry) => entry?.msg === message) as Record<
    string,
    unknown
  >[];
}

function parseLogLine(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
