import { appendFileSync } from 'node:fs';
import fc from 'fast-check';

// The CI budget: every fuzz file together runs 10,000+ cases in about two minutes on two cores.
// STEWARD_FUZZ_SCALE multiplies every property's case count (0.1 for a quick local try, 10 for a
// long soak); STEWARD_FUZZ_TIME_LIMIT_MS caps each property's wall time (a safety net that is
// reported, never silent); STEWARD_FUZZ_SEED replays a run; STEWARD_RELIABILITY_REPORT names a
// file that gets one JSON line per property and scenario (the figures in docs/reliability.md).
const scale = positiveNumber('STEWARD_FUZZ_SCALE', 1);
const timeLimitMs = positiveNumber('STEWARD_FUZZ_TIME_LIMIT_MS', 60_000);
const seed = process.env.STEWARD_FUZZ_SEED === undefined ? undefined : Number(process.env.STEWARD_FUZZ_SEED);

function positiveNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return value;
}

/** One line of the figures: a property's cases, or a fault scenario's counts. */
export interface Figure {
  readonly kind: 'property' | 'scenario';
  readonly name: string;
  readonly [count: string]: string | number | boolean;
}

const figures: Figure[] = [];

/** Records a figure: printed by {@link printFigures}, and appended to STEWARD_RELIABILITY_REPORT when set. */
export function recordFigure(figure: Figure): void {
  figures.push(figure);
  const file = process.env.STEWARD_RELIABILITY_REPORT;
  if (file !== undefined && file !== '') appendFileSync(file, `${JSON.stringify(figure)}\n`);
}

/** Prints this file's figures as one block (call it from `afterAll`). */
export function printFigures(title: string): void {
  const lines = figures.map(({ kind: _kind, name, ...counts }) => {
    const text = Object.entries(counts)
      .map(([key, value]) => `${key}=${value}`)
      .join(' ');
    return `  ${name}: ${text}`;
  });
  const cases = figures.reduce(
    (sum, figure) => sum + (typeof figure.cases === 'number' ? figure.cases : 0),
    0,
  );
  console.log(`reliability · ${title}${cases > 0 ? ` · ${cases} cases` : ''}\n${lines.join('\n')}`);
}

/** The parameters of a property that runs `baseRuns` cases at scale 1. */
export function runsFor(baseRuns: number): number {
  return Math.max(1, Math.round(baseRuns * scale));
}

/**
 * Checks an async property for `runsFor(baseRuns)` cases under the time cap, records how many
 * ran, and throws fast-check's report (with the seed and the shrunk counterexample) on failure.
 */
export async function checkProperty<T>(
  name: string,
  property: fc.IAsyncPropertyWithHooks<T>,
  baseRuns: number,
): Promise<void> {
  const started = performance.now();
  const details = await fc.check(property, {
    numRuns: runsFor(baseRuns),
    interruptAfterTimeLimit: timeLimitMs,
    markInterruptAsFailure: false,
    // Shrinking replays cases against live servers: a few hundred steps find the essence.
    endOnFailure: false,
    ...(seed === undefined ? {} : { seed }),
  });
  recordFigure({
    kind: 'property',
    name,
    cases: details.numRuns,
    ...(details.numSkips > 0 ? { skipped: details.numSkips } : {}),
    ms: Math.round(performance.now() - started),
    ...(details.interrupted ? { interrupted: true } : {}),
    ...(details.failed ? { failed: true } : {}),
  });
  if (details.interrupted && !details.failed)
    console.warn(`reliability: ${name} hit the ${timeLimitMs} ms time cap after ${details.numRuns} cases`);
  if (details.failed) {
    const cause =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(`${name}\n${clip(cause, 1_500)}\n${clip(fc.defaultReportMessage(details) ?? '', 2_000)}`);
  }
}

/** Long counterexamples (a 300,000-character input) are cut, keeping both ends. */
function clip(text: string, length: number): string {
  return text.length <= length
    ? text
    : `${text.slice(0, length / 2)} …(${text.length - length} cut)… ${text.slice(-length / 2)}`;
}
