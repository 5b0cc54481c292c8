/**
 * A connection as current Node code reads and disposes of it:
 *
 *   for await (using lease of conn) { ... }   // each lease received, with backpressure
 *   await using conn = await connect(pool, { port });
 *
 * Async iteration (readLeases). The iterator is the connection's one reader: it refuses a
 * connection that already has a 'data' listener. Received leases wait in the iterator's queue
 * until the loop asks for them; while more than `highWaterMark` bytes wait, the connection is
 * paused (no receive is armed; what was already on its way is held by the connection), and it
 * resumes when the loop has taken everything. The loop ends after the peer's end; a connection
 * error is thrown from the loop (the leases still queued are released first).
 *
 * Who owns what:
 *   - a lease the loop has been handed is the loop's: release it, or hand it on (conn.write holds
 *     its own reference), or declare it with `using` (`for await (using lease of conn)`), which
 *     releases it at the end of each turn, when the body throws too;
 *   - a lease received and not yet handed to the loop is the iterator's: leaving the loop early
 *     (break, return, a throw) releases those and destroys the connection, as leaving a
 *     Readable's loop destroys the stream.
 *
 * Async disposal (disposeConnection): end() (queued writes go out, then the shutdown), then the
 * socket closes: `'finish'` (or an earlier 'close') is awaited, then destroy(), then 'close'. A
 * peer that never ends its side cannot hold the scope open.
 */
import { RioError, type Lease } from '@riopool/core';

/** What the iterator and the disposal use of a Connection (connection.ts imports this file). */
interface Readable {
  readonly closed: boolean;
  readonly readableEnded: boolean;
  readonly finished: boolean;
  pause(): void;
  resume(): void;
  end(): void;
  destroy(): void;
  listenerCount(event: 'data'): number;
  on(event: 'data', listener: (lease: Lease) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  on(event: 'error', listener: (error: RioError | Error) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  once(event: 'finish' | 'close', listener: () => void): unknown;
  off(event: 'data', listener: (lease: Lease) => void): unknown;
  off(event: 'end', listener: () => void): unknown;
  off(event: 'error', listener: (error: RioError | Error) => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

/** Bytes received and not yet taken by the loop above which the connection pauses. */
export const ITERATOR_HIGH_WATER_MARK = 64 * 1024;

export function readLeases(conn: Readable, highWaterMark = ITERATOR_HIGH_WATER_MARK): AsyncIterableIterator<Lease> {
  if (conn.listenerCount('data') > 0) {
    // A lease goes to its one owner: two readers would both release it.
    throw new RioError(
      'ERR_RIO_INVALID_OPTION',
      'conn[Symbol.asyncIterator](): the connection already has a data listener; a connection has one reader',
    );
  }
  const queue: Lease[] = [];
  let head = 0;
  let queuedBytes = 0;
  let paused = false;
  // A connection already closed, or whose peer already ended, has nothing more to give: the
  // loop ends at once instead of waiting for an 'end' or 'close' that came before it.
  let ended = conn.closed || conn.readableEnded;
  let failure: RioError | Error | undefined;
  let finished = false;
  let waiting: { resolve: (r: IteratorResult<Lease>) => void; reject: (e: unknown) => void } | undefined;

  const onData = (lease: Lease) => {
    if (waiting !== undefined) {
      const w = waiting;
      waiting = undefined;
      w.resolve({ value: lease, done: false });
      return;
    }
    queue.push(lease);
    queuedBytes += lease.length;
    if (queuedBytes > highWaterMark && !paused) {
      paused = true;
      conn.pause();
    }
  };
  const onEnd = () => {
    ended = true;
    wake();
  };
  const onError = (e: RioError | Error) => {
    failure ??= e;
    wake();
  };
  const onClose = () => {
    ended = true;
    wake();
  };
  conn.on('data', onData);
  conn.on('end', onEnd);
  conn.on('error', onError);
  conn.on('close', onClose);

  /** Stops listening; releases what the loop was not handed. */
  function finish(): void {
    if (finished) return;
    finished = true;
    conn.off('data', onData);
    conn.off('end', onEnd);
    conn.off('error', onError);
    conn.off('close', onClose);
    for (let i = head; i < queue.length; i++) queue[i]!.release();
    queue.length = 0;
    head = 0;
    queuedBytes = 0;
  }

  /** The loop waits and something happened: hand it the end or the error. */
  function wake(): void {
    if (waiting === undefined) return;
    const w = waiting;
    waiting = undefined;
    if (failure !== undefined) {
      const e = failure;
      finish();
      w.reject(e);
    } else {
      finish();
      w.resolve({ value: undefined, done: true });
    }
  }

  function leave(): Promise<IteratorResult<Lease>> {
    const early = !finished;
    finish();
    if (early && !conn.closed) conn.destroy();
    return Promise.resolve({ value: undefined, done: true });
  }

  const iterator: AsyncIterableIterator<Lease> = {
    next(): Promise<IteratorResult<Lease>> {
      if (finished) return Promise.resolve({ value: undefined, done: true });
      if (failure !== undefined) {
        const e = failure;
        finish();
        return Promise.reject(e);
      }
      if (head < queue.length) {
        const lease = queue[head++]!;
        queuedBytes -= lease.length;
        if (head === queue.length) {
          queue.length = 0;
          head = 0;
        }
        return Promise.resolve({ value: lease, done: false });
      }
      if (ended) {
        finish();
        return Promise.resolve({ value: undefined, done: true });
      }
      // The loop has caught up: receive again. A resume can hand over held leases at once (they
      // are queued by onData, since no one waits yet): the first of them is the next one.
      if (paused) {
        paused = false;
        conn.resume();
        if (head < queue.length || ended || failure !== undefined) return iterator.next();
      }
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
      });
    },
    return: leave,
    throw: leave,
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

export function disposeConnection(conn: Readable): Promise<void> {
  if (conn.closed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    conn.once('close', () => resolve());
    if (conn.finished) {
      conn.destroy();
      return;
    }
    conn.once('finish', () => conn.destroy());
    conn.end();
  });
}
