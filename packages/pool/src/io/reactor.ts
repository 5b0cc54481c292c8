/**
 * Reactor: the operations in flight on one ring, and the references they hold.
 *
 * Rule 2 of docs/design.md, for I/O: an operation on leases retains them when it is submitted
 * and releases them only when its (last) completion arrives, whatever happened meanwhile (the
 * caller released its own reference, the connection was closed, trim() or close() was called on
 * the pool). So a slab with an operation in flight always has an outstanding lease, and the
 * allocator never retires it.
 *
 * Submissions made during one JavaScript turn reach the kernel in one submit(): the first queued
 * operation of a turn, or the first beforeFlush() callback, schedules one flush as a microtask;
 * the flush runs the callbacks (connections that coalesce their writes queue them there) and
 * then submits everything. Completions arrive in batches and are dispatched in order; a
 * multishot receive completes many times (CQE_MORE) and stays in flight until the last. An
 * operation the ring's full queue refuses waits here and goes on once a submit made room
 * (`defer`): callers never see a full queue.
 *
 * Each operation's method spells out the same four steps (an id; behind the deferred, or onto
 * the ring; deferred if the queue is full; tracked) with its own ring call. On purpose: a shared
 * helper would take that call as a closure, made for every operation on the hot path; here a
 * closure is made only for an operation that has to wait.
 */
import * as os from 'node:os';
import { RioError, type Lease } from '@riopool/core';
import type { Ring } from '@riopool/native';

/** Called with each completion's result (bytes, a socket, or -errno) and flags (CQE_*). */
export type OpDone = (result: number, flags: number) => void;

/** A completion's flags, as the kernel sets them (packages/native/src/uring_uapi.h). */
export const CQE_BUFFER = 1 << 0;
export const CQE_MORE = 1 << 1;
export const CQE_BUFFER_MORE = 1 << 4;
export const CQE_BUFFER_SHIFT = 16;

interface InFlight {
  /** The leases the operation reads or writes, retained until its last completion. */
  leases: Lease | readonly Lease[] | undefined;
  done: OpDone;
}

const MAX_OP_ID = 0x7fffffff;
const ignore = () => {};
const { ECANCELED, EIO } = os.constants.errno;
/** Thrown to itself while operations wait for room: a new one waits behind them. */
const FULL = Symbol('queue full');

/** The ring refused an operation because its submission queue is full (ENOSPC: the kernel took nothing from it, e.g. its submits say EBUSY). */
function queueFull(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ENOSPC';
}

function releaseAll(leases: Lease | readonly Lease[] | undefined): void {
  if (leases === undefined) return;
  if (Array.isArray(leases)) for (const l of leases) l.release();
  else (leases as Lease).release();
}

export class Reactor {
  private readonly inFlight = new Map<number, InFlight>();
  private nextOp = 1;
  private flushScheduled = false;
  private beforeFlushing: (() => void)[] = [];
  /** A submit the kernel refused (EBUSY: its completion queue is full; EAGAIN, ENOMEM) is retried. */
  private retry: ReturnType<typeof setTimeout> | undefined;
  /** Submits refused in a row, and in all (the first of each run is reported once: `onSubmitError`). */
  private refusedInARow = 0;
  submitRefusals = 0;
  /** Told of a refused submit whose retry has not yet succeeded, once per run of refusals. */
  onSubmitError: ((error: unknown) => void) | undefined;
  /** Operations submitted to the kernel, and submit() calls: stats for tests and benches. */
  submitted = 0;
  submitCalls = 0;
  completed = 0;
  batches = 0;

  /** Starts the ring: its completions come here from now on. */
  constructor(private readonly ring: Ring) {
    ring.start((ops, results, flags, count) => this.complete(ops, results, flags, count));
  }

  /** Holds taken with hold() and not yet let go. */
  private holds = 0;

  /** Operations in flight now. */
  get operations(): number {
    return this.inFlight.size;
  }

  /** Operations in flight now, and holds (a listener whose accepting is paused). */
  get pending(): number {
    return this.inFlight.size + this.holds;
  }

  /**
   * Counts as pending until the returned function is called (once): keeps the ring open while a
   * listener has paused accepting and has no operation in flight.
   */
  hold(): () => void {
    this.holds++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.holds--;
      if (this.pending === 0) this.onIdle?.();
    };
  }

  /** Lease references that operations in flight hold now (for tests). */
  get leasesHeld(): number {
    let n = 0;
    for (const op of this.inFlight.values()) {
      if (op.leases === undefined) continue;
      n += Array.isArray(op.leases) ? op.leases.length : 1;
    }
    return n;
  }

  /** Called once whenever nothing is pending any more (the ring may then close). */
  onIdle: (() => void) | undefined = undefined;

  accept(listenFd: number, done: OpDone): number {
    const op = this.id();
    try {
      if (this.deferred.length > 0) throw FULL;
      this.ring.accept(op, listenFd);
    } catch (e) {
      this.defer(e, op, () => this.ring.accept(op, listenFd));
    }
    return this.track(op, undefined, done);
  }

  connect(fd: number, host: string, port: number, done: OpDone): number {
    const op = this.id();
    try {
      if (this.deferred.length > 0) throw FULL;
      this.ring.connect(op, fd, host, port);
    } catch (e) {
      this.defer(e, op, () => this.ring.connect(op, fd, host, port));
    }
    return this.track(op, undefined, done);
  }

  /** Receives into [offset, offset + length) of a registered lease's slab. Pre: the lease is live. */
  receive(fd: number, lease: Lease, bufferId: number, offset: number, length: number, done: OpDone): number {
    const op = this.id();
    try {
      if (this.deferred.length > 0) throw FULL;
      this.ring.receive(op, fd, bufferId, offset, length);
    } catch (e) {
      this.defer(e, op, () => this.ring.receive(op, fd, bufferId, offset, length));
    }
    return this.track(op, lease, done);
  }

  /** Receives into an unregistered (overflow) lease's memory. Pre: the lease is live. */
  receivePlain(fd: number, lease: Lease, buffer: ArrayBuffer, offset: number, length: number, done: OpDone): number {
    const op = this.id();
    try {
      if (this.deferred.length > 0) throw FULL;
      this.ring.receivePlain(op, fd, buffer, offset, length);
    } catch (e) {
      this.defer(e, op, () => this.ring.receivePlain(op, fd, buffer, offset, length));
    }
    return this.track(op, lease, done);
  }

  /** A multishot receive from the buffer ring; `done` runs for every completion. */
  receiveMultishot(fd: number, done: OpDone): number {
    const op = this.id();
    try {
      if (this.deferred.length > 0) throw FULL;
      this.ring.receiveMultishot(op, fd);
    } catch (e) {
      this.defer(e, op, () => this.ring.receiveMultishot(op, fd));
    }
    return this.track(op, undefined, done);
  }

  /** Sends [offset, offset + length) of a registered lease's slab. Pre: the lease is live. */
  send(fd: number, lease: Lease, bufferId: number, offset: number, length: number, done: OpDone): number {
    const op = this.id();
    try {
      if (this.deferred.length > 0) throw FULL;
      this.ring.send(op, fd, bufferId, offset, length);
    } catch (e) {
      this.defer(e, op, () => this.ring.send(op, fd, bufferId, offset, length));
    }
    return this.track(op, lease, done);
  }

  /** Sends from an unregistered (overflow) lease's memory. Pre: the lease is live. */
  sendPlain(fd: number, lease: Lease, buffer: ArrayBuffer, offset: number, length: number, done: OpDone): number {
    const op = this.id();
    try {
      if (this.deferred.length > 0) throw FULL;
      this.ring.sendPlain(op, fd, buffer, offset, length);
    } catch (e) {
      this.defer(e, op, () => this.ring.sendPlain(op, fd, buffer, offset, length));
    }
    return this.track(op, lease, done);
  }

  /** Sends `count` ranges ([bufferId, offset, length] in `parts`) of registered leases in one operation. */
  sendParts(fd: number, leases: readonly Lease[], parts: Int32Array, count: number, done: OpDone): number {
    const op = this.id();
    try {
      if (this.deferred.length > 0) throw FULL;
      this.ring.sendParts(op, fd, parts, count);
    } catch (e) {
      const kept = parts.slice(0, count * 3); // the caller reuses `parts`
      this.defer(e, op, () => this.ring.sendParts(op, fd, kept, count));
    }
    return this.track(op, leases, done);
  }

  /** Asks the kernel to cancel `target`; its own completion still arrives (and releases its leases). */
  cancel(target: number): void {
    if (!this.inFlight.has(target)) return;
    const waiting = this.deferred.findIndex((d) => d.op === target);
    if (waiting >= 0) {
      // Never reached the ring: it completes as cancelled, in a microtask (not inside the caller).
      this.deferred.splice(waiting, 1);
      this.completeSoon(target, -ECANCELED);
      return;
    }
    const op = this.id();
    try {
      if (this.deferred.length > 0) throw FULL;
      this.ring.cancel(op, target);
    } catch (e) {
      this.defer(e, op, () => this.ring.cancel(op, target));
    }
    this.track(op, undefined, ignore);
  }

  shutdown(fd: number, done: OpDone): number {
    const op = this.id();
    try {
      if (this.deferred.length > 0) throw FULL;
      this.ring.shutdown(op, fd);
    } catch (e) {
      this.defer(e, op, () => this.ring.shutdown(op, fd));
    }
    return this.track(op, undefined, done);
  }

  close(fd: number, done: OpDone): number {
    const op = this.id();
    try {
      if (this.deferred.length > 0) throw FULL;
      this.ring.close(op, fd);
    } catch (e) {
      this.defer(e, op, () => this.ring.close(op, fd));
    }
    return this.track(op, undefined, done);
  }

  /** Runs `callback` at this turn's flush, before the submit (it may queue operations). */
  beforeFlush(callback: () => void): void {
    this.beforeFlushing.push(callback);
    this.scheduleFlush();
  }

  /**
   * Operations the ring refused because its queue was full and the kernel took nothing (ENOSPC):
   * tracked as in flight like any other (their callers hold their ids), queued on the ring in
   * order once a submit has made room; while any waits, later operations wait behind it, so a
   * connection's shutdown never overtakes its send.
   */
  private deferred: { op: number; queue: () => void }[] = [];

  /** `error` came from queuing `op`: kept to queue again (`queue`) if the queue was full, thrown otherwise. */
  private defer(error: unknown, op: number, queue: () => void): void {
    if (error !== FULL && !queueFull(error)) throw error;
    this.deferred.push({ op, queue });
    this.scheduleFlush();
  }

  /** After a submit the kernel took: the deferred operations go on the ring, as many as fit. */
  private queueDeferred(): void {
    while (this.deferred.length > 0) {
      const { op, queue } = this.deferred[0]!;
      try {
        queue();
      } catch (e) {
        if (queueFull(e)) break; // full again: the next submit makes room
        // Refused for another reason (the socket is gone): it completes with that error.
        const errno = (e as { errno?: unknown } | null)?.errno;
        this.completeSoon(op, typeof errno === 'number' && errno > 0 ? -errno : -EIO);
      }
      this.deferred.shift();
    }
    this.scheduleFlush();
  }

  /** An operation that never reached the kernel completes with `result` (-errno), in a microtask: never inside its caller. */
  private completeSoon(op: number, result: number): void {
    queueMicrotask(() => this.complete(Int32Array.of(op), Int32Array.of(result), Int32Array.of(0), 1));
  }

  /** Submits now what is queued (normally done once per turn by the scheduled flush). */
  flush(): void {
    this.flushScheduled = false;
    let thrown: { error: unknown } | undefined;
    // A callback may schedule another (a listener it calls writes to another connection): those
    // run in this flush too, or their microtask would find it done and leave them waiting.
    while (this.beforeFlushing.length > 0) {
      const callbacks = this.beforeFlushing;
      this.beforeFlushing = [];
      // One callback that throws does not keep the others' writes back; the first is rethrown.
      for (const callback of callbacks) {
        try {
          callback();
        } catch (error) {
          thrown ??= { error };
        }
      }
      this.flushScheduled = false; // what the callbacks queued goes in this submit (their microtask finds nothing to do)
    }
    this.submit();
    if (thrown !== undefined) throw thrown.error;
  }

  private submit(): void {
    let n: number;
    try {
      n = this.ring.submit();
    } catch (e) {
      // Never thrown into the event loop: what is queued stays queued (the ring submits the rest
      // of its queue next time), and the submit is tried again once completions have drained.
      this.submitRefusals++;
      if (this.refusedInARow++ === 0) this.onSubmitError?.(e);
      if (this.retry === undefined) {
        const wait = Math.min(100, 2 ** Math.min(this.refusedInARow, 7));
        this.retry = setTimeout(() => {
          this.retry = undefined;
          this.flush();
        }, wait);
      }
      return;
    }
    this.refusedInARow = 0;
    if (n > 0) {
      this.submitted += n;
      this.submitCalls++;
    }
    if (this.deferred.length > 0) this.queueDeferred();
  }

  /** The scheduled flush (made once: a turn's first operation allocates nothing for it). */
  private readonly flushTask = () => {
    if (this.flushScheduled) this.flush();
  };

  private scheduleFlush(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushTask);
    }
  }

  /** An id for the next operation: one not in flight (ids go round after 2^31 - 1). */
  private id(): number {
    let op = this.nextOp;
    while (this.inFlight.has(op)) op = op === MAX_OP_ID ? 1 : op + 1;
    this.nextOp = op === MAX_OP_ID ? 1 : op + 1;
    return op;
  }

  /**
   * Records an operation the ring has just queued (if the ring refused it, it threw and nothing
   * is held): the leases' references and the entry, then one flush per turn.
   */
  private track(op: number, leases: Lease | readonly Lease[] | undefined, done: OpDone): number {
    if (leases !== undefined) {
      if (Array.isArray(leases)) for (const l of leases) l.retain();
      else (leases as Lease).retain();
    }
    this.inFlight.set(op, { leases, done });
    this.scheduleFlush();
    return op;
  }

  /**
   * Dispatches one batch. A callback that throws (an application's listener, called on from a
   * connection) does not stop the batch: every completion is dispatched and every reference
   * released first, then the first exception is rethrown, to be reported as Node reports an
   * exception of a socket's listener (uncaughtException).
   */
  private complete(ops: Int32Array, results: Int32Array, flags: Int32Array, count: number): void {
    this.batches++;
    let thrown: { error: unknown } | undefined;
    for (let i = 0; i < count; i++) {
      const op = ops[i]!;
      const entry = this.inFlight.get(op);
      if (entry === undefined) {
        thrown ??= { error: new RioError('ERR_RIO_BACKEND', `riopool internal error: a completion for op ${op} that is not in flight`) };
        continue;
      }
      const f = flags[i]!;
      const last = (f & CQE_MORE) === 0; // a multishot operation goes on until its last
      if (last) {
        this.inFlight.delete(op);
        this.completed++;
      }
      // The operation's references go after its callback has run, so the leases are live during
      // the callback (which may hand them on), and go even if the callback throws.
      try {
        entry.done(results[i]!, f);
      } catch (error) {
        thrown ??= { error };
      } finally {
        if (last) releaseAll(entry.leases);
      }
    }
    if (this.pending === 0) this.onIdle?.();
    if (thrown !== undefined) throw thrown.error;
  }
}
