import { StewardError } from '../errors/steward-error.ts';

/** @internal Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * @internal Settles with `promise`, or rejects with the signal's reason as soon as it aborts,
 * so a tool that ignores its signal cannot hold the run past a timeout or a stop.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {}); // Nobody waits for it any more; its failure must not go unhandled.
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** @internal True for the DOMException `AbortSignal.timeout()` aborts with. */
export function isTimeoutReason(reason: unknown): boolean {
  return reason instanceof DOMException && reason.name === 'TimeoutError';
}

/** @internal The StewardError that explains why `signal` aborted. */
export function abortReasonToError(
  reason: unknown,
  timeoutCode: 'run_timeout' | 'tool_timeout',
  what: string,
): StewardError {
  if (StewardError.isInstance(reason)) return reason;
  if (isTimeoutReason(reason)) return new StewardError(timeoutCode, `${what} timed out`, { cause: reason });
  const message =
    reason instanceof Error ? reason.message : reason === undefined ? 'aborted' : String(reason);
  return new StewardError('run_aborted', `${what} was aborted: ${message}`, { cause: reason });
}
