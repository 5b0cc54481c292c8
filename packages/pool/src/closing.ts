/**
 * pool.close(options?): what a close waits for, how to bound the wait, and how to say why it
 * waits.
 *
 * A close waits for every lease to come back and every connection of the pool to close
 * (docs/design.md: memory is deregistered and unmapped only when nothing uses it). A lease that
 * was forgotten, or a client still connected, makes that wait endless. So:
 *   - close({ timeout, signal }) stops waiting (the pool goes on closing) and rejects with
 *     ERR_RIO_OUTSTANDING, whose message and `outstanding` name each lease still out (its RioBuf,
 *     and in checked mode where it was acquired) and each open connection;
 *   - close({ force: true }) destroys the open connections, waits for their cancelled operations,
 *     and resolves without waiting for leases: their slabs stay mapped and registered until their
 *     last lease is released (Allocator.abandonOutstanding), so force never takes memory a lease
 *     or an operation still uses;
 *   - a close still waiting when the process has nothing else to do says so once, as a
 *     RiopoolWarning (RIOPOOL_CLOSE_PENDING) with the same list, instead of letting the process
 *     exit with nothing printed.
 */
import { RioError, is, readOptions, type Schema, type Allocator } from '@riopool/core';
import { abortError, checkSignal } from './abort';
import type { Tracker } from './tracking';
import { emitRiopoolWarning } from './warnings';

export interface CloseOptions {
  /** Stop waiting after this many milliseconds: reject with ERR_RIO_OUTSTANDING (the pool goes on closing). */
  timeout?: number;
  /**
   * Stop waiting when this signal aborts: reject with ERR_RIO_OUTSTANDING, the signal's reason as
   * its cause. Until the close settles the process stays alive (AbortSignal.timeout(n) works as
   * `timeout: n` does).
   */
  signal?: AbortSignal;
  /**
   * Do not wait for leases: destroy the pool's open connections, wait for their operations to
   * complete, and resolve. Slabs with leases stay mapped and registered until their last lease is
   * released (never taken from under a lease or an operation).
   */
  force?: boolean;
}

/** A lease close() waits for: its slot's RioBuf, the length it asked for, where it was acquired (checked mode). */
export interface OutstandingLease {
  bufferId: number;
  offset: number;
  length: number;
  /** The acquisition's stack, in checked mode (createPool({ checked: true })). */
  acquiredAt?: string;
}

/** What a close waits for (ERR_RIO_OUTSTANDING's `outstanding`). */
export interface PoolOutstanding {
  /** Leases out, counted by slot (a slot whose lease was sliced counts once). */
  leaseCount: number;
  /** The first MAX_LISTED of them. */
  leases: OutstandingLease[];
  /** The pool's open connections, each described by where it came from. */
  connections: string[];
}

/** The ERR_RIO_OUTSTANDING error of a bounded close. */
export interface OutstandingError extends RioError {
  readonly code: 'ERR_RIO_OUTSTANDING';
  readonly outstanding: PoolOutstanding;
}

/** Leases listed in `outstanding` (and the first few in the message): enough to find a leak. */
const MAX_LISTED = 100;
const MAX_IN_MESSAGE = 10;

/** pool.close()'s options; an unknown key (a typo such as `timout`) is refused, not ignored. */
const CLOSE_SCHEMA: Schema = {
  timeout: (v) =>
    typeof v === 'number' && v >= 0 && v <= 2 ** 31 - 1 ? undefined : `must be a number of milliseconds, 0 to ${2 ** 31 - 1}`,
  force: is.bool,
  signal: is.checkedElsewhere, // checkSignal
};

export function checkCloseOptions(options: unknown): CloseOptions {
  const o = readOptions<CloseOptions>('pool.close', options, CLOSE_SCHEMA);
  checkSignal(o.signal, 'pool.close(options)');
  return o;
}

/** What the pool's close waits for now. */
export function outstandingOf(alloc: Allocator, tracker: Tracker | undefined, connections: Iterable<string>): PoolOutstanding {
  const slots = alloc.outstandingSlots();
  const leases = slots.slice(0, MAX_LISTED).map(({ handle, bufferId, offset, length }): OutstandingLease => {
    const acquiredAt = tracker?.acquiredAt(handle);
    return acquiredAt === undefined ? { bufferId, offset, length } : { bufferId, offset, length, acquiredAt };
  });
  return { leaseCount: slots.length, leases, connections: [...connections] };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** A message that names what a close waits for, and what to do about it. */
export function describeOutstanding(o: PoolOutstanding, checked: boolean): string {
  const lines = [`it waits for ${plural(o.leaseCount, 'lease')} and ${plural(o.connections.length, 'connection')}:`];
  for (const l of o.leases.slice(0, MAX_IN_MESSAGE)) {
    const at = l.acquiredAt === undefined ? '' : `, acquired\n${l.acquiredAt.replace(/^/gm, '    ')}`;
    lines.push(`  lease of ${l.length} B (buffer ${l.bufferId}, offset ${l.offset})${at}`);
  }
  if (o.leaseCount > MAX_IN_MESSAGE)
    lines.push(`  ... and ${o.leaseCount - MAX_IN_MESSAGE} more (error.outstanding lists ${o.leases.length})`);
  if (o.leaseCount > 0 && !checked) lines.push('  (where each was acquired: createPool({ checked: true }))');
  for (const c of o.connections) lines.push(`  ${c}`);
  lines.push(
    'Release every lease and close every connection (conn.end(), conn.destroy(), server.closeAllConnections()); ' +
      "or close({ force: true }): it destroys the connections and stops waiting for the leases, whose memory then goes with each one's last release.",
  );
  return lines.join('\n');
}

/** The ERR_RIO_OUTSTANDING error: `why` is how the wait ended (a timeout, an abort). */
export function outstandingError(why: string, o: PoolOutstanding, checked: boolean, cause?: unknown): OutstandingError {
  const e = new RioError(
    'ERR_RIO_OUTSTANDING',
    `pool.close(): ${why}; the pool goes on closing, and ${describeOutstanding(o, checked)}`,
    cause === undefined ? undefined : { cause },
  ) as RioError & { outstanding: PoolOutstanding };
  e.outstanding = o;
  return e as OutstandingError;
}

/**
 * `closed`, bounded by the options' timeout and signal: rejects with ERR_RIO_OUTSTANDING (made by
 * `report` at that moment) if either ends the wait first.
 */
export function bounded(
  closed: Promise<void>,
  options: CloseOptions,
  report: (why: string, cause?: unknown) => OutstandingError,
): Promise<void> {
  const { timeout, signal } = options;
  if (timeout === undefined && signal === undefined) return closed;
  if (signal?.aborted === true) return Promise.reject(report('aborted', abortError(signal)));
  return new Promise<void>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    // A signal keeps the process alive until the close settles, as a timeout does: the caller
    // awaits the answer. AbortSignal.timeout(n)'s own timer is unref'd by Node (by design, so a
    // signal alone never holds a process), so without this handle a close bounded by it let the
    // process exit with the await unsettled (exit code 13) when a lease was forgotten. A signal
    // that never aborts, on a close that never finishes, keeps the process alive: abort it.
    let keepAlive: ReturnType<typeof setInterval> | undefined;
    const done = () => {
      if (timer !== undefined) clearTimeout(timer);
      if (keepAlive !== undefined) clearInterval(keepAlive);
      signal?.removeEventListener('abort', aborted);
    };
    const aborted = () => {
      done();
      reject(report('aborted', abortError(signal!)));
    };
    // A timer that keeps the process alive: the point is to hear about it.
    if (timeout !== undefined) {
      timer = setTimeout(() => {
        done();
        reject(report(`not closed after ${timeout} ms`));
      }, timeout);
    }
    if (signal !== undefined) {
      keepAlive = setInterval(() => {}, 2 ** 31 - 1);
      signal.addEventListener('abort', aborted, { once: true });
    }
    closed.then(
      () => {
        done();
        resolve();
      },
      (e: unknown) => {
        done();
        reject(e);
      },
    );
  });
}

/** The closes still waiting, each with what says why; one 'beforeExit' listener for all of them. */
const pendingCloses = new Set<() => string>();

function reportStuck(): void {
  for (const describe of pendingCloses) {
    emitRiopoolWarning('RIOPOOL_CLOSE_PENDING', `riopool: pool.close() has not finished and nothing else is left to run; ${describe()}`);
  }
  pendingCloses.clear(); // once: the process may now exit
  process.removeListener('beforeExit', reportStuck);
}

/**
 * While `closed` is pending, the process's running out of other work (its 'beforeExit') is
 * reported once, as a RIOPOOL_CLOSE_PENDING warning that says what the close waits for.
 */
export function warnIfStuck(closed: Promise<void>, describe: () => string): void {
  if (pendingCloses.size === 0) process.on('beforeExit', reportStuck);
  pendingCloses.add(describe);
  const forget = () => {
    if (pendingCloses.delete(describe) && pendingCloses.size === 0) process.removeListener('beforeExit', reportStuck);
  };
  closed.then(forget, forget);
}
