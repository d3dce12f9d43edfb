import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import type { ToolCallContext, ToolProgress } from '@steward/core';

const require = createRequire(import.meta.url);

/** @internal The entry script of @modelcontextprotocol/server-everything. */
export const everythingEntry = join(
  dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')),
  'dist/index.js',
);

/** @internal The stdio entry of @steward/testing's mock MCP server. */
export const mockStdioEntry = require.resolve('@steward/testing/mock-mcp-stdio');

/** @internal A tool-call context that records progress. */
export function callContext(signal: AbortSignal = new AbortController().signal) {
  const progress: ToolProgress[] = [];
  const context: ToolCallContext = {
    signal,
    runId: 'run',
    sessionId: 'session',
    userId: 'user',
    callId: 'call',
    reportProgress: (update) => progress.push(update),
  };
  return { context, progress };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** @internal Starts server-everything over Streamable HTTP in a child process. */
export async function startEverythingHttp(mode: 'streamableHttp' | 'sse' = 'streamableHttp'): Promise<{
  url: string;
  child: ChildProcess;
  stop: () => Promise<void>;
}> {
  const port = await freePort();
  const child = spawn(process.execPath, [everythingEntry, mode], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // A test that dies before its afterAll must not leave the server running.
  const killChild = () => child.kill('SIGKILL');
  process.once('exit', killChild);
  child.once('exit', () => process.off('exit', killChild));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server-everything did not start')), 15_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      if (/listening|running on port/i.test(chunk.toString())) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`server-everything exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/${mode === 'sse' ? 'sse' : 'mcp'}`,
    child,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
