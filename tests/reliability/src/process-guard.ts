import { afterAll, beforeAll, expect } from 'vitest';

/**
 * Records every unhandled rejection and uncaught exception of this process while a file's servers
 * run, and fails the file on any. The fuzzed servers run in-process, so a crash of theirs is one
 * of these, whatever Vitest would do with it on its own.
 */
export function guardProcess(): { readonly failures: readonly unknown[]; expectNone(): void } {
  const failures: unknown[] = [];
  const onFailure = (error: unknown) => failures.push(error);
  beforeAll(() => {
    process.on('unhandledRejection', onFailure);
    process.on('uncaughtException', onFailure);
  });
  afterAll(async () => {
    // One more turn of the loop, so a rejection left by the last case is reported.
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', onFailure);
    process.off('uncaughtException', onFailure);
    expect(failures.map(describe)).toEqual([]);
  });
  return {
    failures,
    expectNone() {
      expect(failures.map(describe)).toEqual([]);
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
}
