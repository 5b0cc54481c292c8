/**
 * The `uring` datapath: connections whose every receive and send is an operation on the pool's
 * own ring, naming the lease's slab by its buffer id (READ_FIXED / WRITE_FIXED; docs/native.md,
 * "Ring"). Accept and connect run on the ring too; the listening socket and a connecting socket
 * are made with plain calls (socket, bind, listen), and a connection's socket is closed through
 * the ring once its cancelled operations have completed.
 *
 * One receive is in flight per connection (into a fresh lease of `receiveSize` bytes) while the
 * connection is not paused; the Connection (connection.ts) keeps one send in flight. All of a
 * turn's submissions go to the kernel in one submit (reactor.ts).
 */
import * as os from 'node:os';
import { leaseSlot, type Lease, type RioError, type SlabPool } from '@riopool/core';
import type { Ring } from '@riopool/native';
import type { PoolRegistrar } from '../backend';
import { Reactor } from './reactor';
import {
  netError,
  resultError,
  type Io,
  type IoStats,
  type Listener,
  type Transport,
  type TransportOptions,
  type TransportSink,
} from './transport';

const ECANCELED = os.constants.errno.ECANCELED;

/** One connected socket on the ring. */
class UringTransport implements Transport {
  readonly datapath = 'uring' as const;
  #sink: TransportSink | undefined;
  #receiving = 0;
  #paused = false;
  #closing = false;
  readonly #ops = new Set<number>();
  #closed: (() => void) | undefined;

  constructor(
    private readonly reactor: Reactor,
    private readonly alloc: SlabPool,
    readonly fd: number,
    private readonly receiveSize: number,
  ) {}

  start(sink: TransportSink): void {
    this.#sink = sink;
    this.#receive();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#receive();
  }

  #receive(): void {
    if (this.#receiving !== 0 || this.#paused || this.#closing) return;
    let lease: Lease;
    try {
      lease = this.alloc.acquire(this.receiveSize);
    } catch (e) {
      this.#sink!.error(e as RioError);
      return;
    }
    const { slab, slot } = leaseSlot(lease)!;
    const op = this.reactor.receive(this.fd, lease, slab.bufferId, slab.cls.offsetOf(slot), this.receiveSize, (result) => {
      this.#receiving = 0;
      if (result > 0 && !this.#closing) {
        this.#sink!.data(lease, result); // the sink owns the lease now
        this.#receive();
      } else {
        lease.release();
        if (!this.#closing) {
          if (result === 0) this.#sink!.end();
          else this.#sink!.error(resultError(result, 'receive'));
        }
      }
      this.#completed(op);
    });
    this.#ops.add(op);
    this.#receiving = op;
  }

  send(lease: Lease, start: number, length: number, done: (sent: number, error?: RioError) => void): void {
    const { slab, slot } = leaseSlot(lease)!;
    const op = this.reactor.send(this.fd, lease, slab.bufferId, slab.cls.offsetOf(slot) + start, length, (result) => {
      if (result > 0) done(result);
      else done(0, result === 0 ? netError('EIO', 'send: nothing sent') : resultError(result, 'send'));
      this.#completed(op);
    });
    this.#ops.add(op);
  }

  shutdown(): void {
    if (this.#closing) return;
    const op = this.reactor.shutdown(this.fd, () => this.#completed(op));
    this.#ops.add(op);
  }

  /** Cancels every operation of this connection; closes the socket once all have completed. */
  close(done: () => void): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#closed = () => this.reactor.close(this.fd, () => done());
    if (this.#ops.size === 0) this.#closed();
    else for (const op of this.#ops) this.reactor.cancel(op);
  }

  /** After each of this connection's operations: the last one of a closing connection closes it. */
  #completed(op: number): void {
    this.#ops.delete(op);
    if (this.#closing && this.#ops.size === 0 && this.#closed !== undefined) {
      const close = this.#closed;
      this.#closed = undefined;
      close();
    }
  }
}

/** A socket call's failure (the addon's errno-style error) as a RioError. */
function socketError(e: unknown, what: string): RioError {
  const err = e as { code?: string; message: string };
  return netError(err.code, `${what}: ${err.message}`, e);
}

class UringIo implements Io {
  readonly datapath = 'uring' as const;
  readonly reason = 'io_uring: operations on the pool ring with fixed buffers';

  constructor(
    private readonly ring: Ring,
    private readonly reactor: Reactor,
    private readonly alloc: SlabPool,
  ) {}

  stats(): IoStats {
    const r = this.reactor;
    return {
      datapath: 'uring',
      reason: this.reason,
      opsInFlight: r.pending,
      submitCalls: r.submitCalls,
      opsSubmitted: r.submitted,
      completionBatches: r.batches,
    };
  }

  listen(
    host: string,
    port: number,
    backlog: number,
    options: TransportOptions,
    accepted: (t: Transport) => void,
    failed: (e: RioError) => void,
  ): Promise<Listener> {
    let fd: number;
    let bound: number;
    try {
      [fd, bound] = this.ring.listen(host, port, backlog);
    } catch (e) {
      return Promise.reject(socketError(e, `listen ${host}:${port}`));
    }
    let op = 0;
    let stopped: (() => void) | undefined;
    const next = () => {
      op = this.reactor.accept(fd, (result) => {
        op = 0;
        if (stopped !== undefined) {
          if (result >= 0) this.ring.closeSocket(result);
          this.ring.closeSocket(fd);
          stopped();
          return;
        }
        if (result >= 0) accepted(new UringTransport(this.reactor, this.alloc, result, options.receiveSize));
        else if (result !== -ECANCELED) failed(resultError(result, 'accept'));
        next();
      });
    };
    next();
    // Stopping cancels the accept in flight; the listening socket closes when it has completed.
    const stop = (): Promise<void> =>
      new Promise((resolve) => {
        stopped = resolve;
        this.reactor.cancel(op);
      });
    return Promise.resolve({ address: { port: bound, host }, stop });
  }

  connect(host: string, port: number, options: TransportOptions): Promise<Transport> {
    let fd: number;
    try {
      fd = this.ring.socket(host);
    } catch (e) {
      return Promise.reject(socketError(e, `connect ${host}:${port}`));
    }
    return new Promise((resolve, reject) => {
      this.reactor.connect(fd, host, port, (result) => {
        if (result === 0) {
          resolve(new UringTransport(this.reactor, this.alloc, fd, options.receiveSize));
        } else {
          this.ring.closeSocket(fd);
          reject(resultError(result, `connect ${host}:${port}`));
        }
      });
    });
  }
}

/** The uring datapath on the registrar's ring, or why it cannot run. */
export function openUringIo(registrar: PoolRegistrar, alloc: SlabPool): Io | string {
  const ring = registrar.ring();
  if (typeof ring === 'string') return ring;
  let reactor: Reactor;
  try {
    reactor = new Reactor(ring);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  registrar.keepOpenWhile(reactor);
  return new UringIo(ring, reactor, alloc);
}
