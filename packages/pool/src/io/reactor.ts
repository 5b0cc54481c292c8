/**
 * Reactor: the operations in flight on one ring, and the references they hold.
 *
 * Rule 2 of docs/design.md, for I/O: an operation on a lease retains the lease when it is
 * submitted and releases it only when its completion arrives, whatever happened meanwhile (the
 * caller released its own reference, the connection was closed, trim() or close() was called on
 * the pool). So a slab with an operation in flight always has an outstanding lease, and the
 * allocator never retires it.
 *
 * Submissions made during one JavaScript turn reach the kernel in one submit(): the first queued
 * operation of a turn schedules one flush as a microtask. Completions arrive in batches and are
 * dispatched in order; a callback may queue new operations, which the same flush mechanism
 * submits.
 */
import { RioError, type Lease } from '@riopool/core';
import type { Ring } from '@riopool/native';

/** Called once with the operation's result (bytes, a socket, or -errno). */
export type OpDone = (result: number) => void;

interface InFlight {
  /** The lease the operation reads or writes, retained until completion. */
  lease: Lease | undefined;
  done: OpDone;
}

const MAX_OP_ID = 0x7fffffff;

export class Reactor {
  private readonly inFlight = new Map<number, InFlight>();
  private nextOp = 1;
  private flushScheduled = false;
  /** Operations submitted to the kernel, and submit() calls: stats for tests and benches. */
  submitted = 0;
  submitCalls = 0;
  completed = 0;
  batches = 0;

  /** Starts the ring: its completions come here from now on. */
  constructor(private readonly ring: Ring) {
    ring.start((ops, results, count) => this.complete(ops, results, count));
  }

  /** Operations in flight now. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** Operations in flight that hold a lease now. */
  get leasesHeld(): number {
    let n = 0;
    for (const op of this.inFlight.values()) if (op.lease !== undefined) n++;
    return n;
  }

  /** Called once whenever the last operation in flight completes (the ring may then close). */
  onIdle: (() => void) | undefined = undefined;

  accept(listenFd: number, done: OpDone): number {
    return this.begin(undefined, done, (op) => this.ring.accept(op, listenFd));
  }

  connect(fd: number, host: string, port: number, done: OpDone): number {
    return this.begin(undefined, done, (op) => this.ring.connect(op, fd, host, port));
  }

  /** Receives into the first `length` bytes of the lease. Pre: the lease is live. */
  receive(fd: number, lease: Lease, bufferId: number, offset: number, length: number, done: OpDone): number {
    return this.begin(lease, done, (op) => this.ring.receive(op, fd, bufferId, offset, length));
  }

  /** Sends `length` bytes at `offset` of the lease's slot. Pre: the lease is live. */
  send(fd: number, lease: Lease, bufferId: number, offset: number, length: number, done: OpDone): number {
    return this.begin(lease, done, (op) => this.ring.send(op, fd, bufferId, offset, length));
  }

  /** Asks the kernel to cancel `target`; its own completion still arrives (and releases its lease). */
  cancel(target: number): void {
    if (!this.inFlight.has(target)) return;
    this.begin(
      undefined,
      () => {},
      (op) => this.ring.cancel(op, target),
    );
  }

  shutdown(fd: number, done: OpDone): number {
    return this.begin(undefined, done, (op) => this.ring.shutdown(op, fd));
  }

  close(fd: number, done: OpDone): number {
    return this.begin(undefined, done, (op) => this.ring.close(op, fd));
  }

  /** Submits now what is queued (normally done once per turn by the scheduled flush). */
  flush(): void {
    this.flushScheduled = false;
    const n = this.ring.submit();
    if (n > 0) {
      this.submitted += n;
      this.submitCalls++;
    }
  }

  /**
   * Queues one operation: the ring first (if it refuses, nothing is held), then the lease's
   * reference and the entry, then one flush per turn.
   */
  private begin(lease: Lease | undefined, done: OpDone, queue: (op: number) => void): number {
    let op = this.nextOp;
    while (this.inFlight.has(op)) op = op === MAX_OP_ID ? 1 : op + 1;
    this.nextOp = op === MAX_OP_ID ? 1 : op + 1;
    queue(op);
    this.inFlight.set(op, { lease: lease?.retain(), done });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
    return op;
  }

  private complete(ops: Int32Array, results: Int32Array, count: number): void {
    this.batches++;
    for (let i = 0; i < count; i++) {
      const entry = this.inFlight.get(ops[i]!);
      if (entry === undefined) {
        throw new RioError('ERR_RIO_BACKEND', `riopool internal error: a completion for op ${ops[i]} that is not in flight`);
      }
      this.inFlight.delete(ops[i]!);
      this.completed++;
      // The operation's reference goes after its callback has run, so the lease is live during
      // the callback (which may hand it on), and goes even if the callback throws.
      try {
        entry.done(results[i]!);
      } finally {
        entry.lease?.release();
      }
    }
    if (this.inFlight.size === 0) this.onIdle?.();
  }
}
