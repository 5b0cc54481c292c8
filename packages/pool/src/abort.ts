/**
 * AbortSignal options, as Node's own APIs take them (net.connect's and server.listen's `signal`,
 * events.once's): a signal that is already aborted rejects at once; aborting later rejects
 * what is pending with an `AbortError` (name 'AbortError', code 'ABORT_ERR', the signal's reason
 * as its `cause`), the error Node's APIs reject with.
 */
import { RioError } from '@riopool/core';

/** An AbortError as Node's APIs make them: `name` 'AbortError', `code` 'ABORT_ERR', `cause` the signal's reason. */
export function abortError(signal: AbortSignal): Error & { code: 'ABORT_ERR' } {
  const e = new Error('The operation was aborted', { cause: signal.reason }) as Error & { code: 'ABORT_ERR' };
  e.name = 'AbortError';
  e.code = 'ABORT_ERR';
  return e;
}

/** Throws ERR_RIO_INVALID_OPTION for a `signal` option that is given and is not an AbortSignal. */
export function checkSignal(signal: unknown, what: string): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  const s = signal as Partial<AbortSignal> | null;
  if (typeof s !== 'object' || s === null || typeof s.aborted !== 'boolean' || typeof s.addEventListener !== 'function') {
    throw new RioError('ERR_RIO_INVALID_OPTION', `${what}: signal must be an AbortSignal`);
  }
  return signal as AbortSignal;
}

/** Calls `onAbort` once when `signal` aborts; returns what removes the listener. */
export function onAbort(signal: AbortSignal, onAbort: () => void): () => void {
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}
