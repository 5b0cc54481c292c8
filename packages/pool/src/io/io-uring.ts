/**
 * The `uring` datapath: connections whose every receive and send is an operation on the pool's
 * own ring, naming the lease's slab by its buffer id (READ_FIXED / WRITE_FIXED; docs/native.md,
 * "Datapath"). Accept and connect run on the ring too; the listening socket and a connecting
 * socket are made with plain calls (socket, bind, listen), and a connection's socket is closed
 * through the ring once its cancelled operations have completed.
 *
 * One receive is in flight per connection (into a fresh lease of `receiveSize` bytes) while the
 * connection is not paused; the Connection (connection.ts) keeps one send in flight. All of a
 * turn's submissions go to the kernel in one submit (reactor.ts).
 */
import * as os from 'node:os';
import { type RioError, leaseSlot, type Lease, type SlabPool } from '@riopool/core';
import type { Sockets } from '../backend';
import { allocatorOf, registrarOf, type Pool } from '../pool';
import { netError, type Transport, type TransportSink } from './connection';
import type { Io, IoStats } from './io';
import { Reactor } from './reactor';
import type { AddressInfo, Server } from './server';

const errnoNames = new Map<number, string>(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

/** A negative ring result as a RioError with the errno's name as its code. */
function resultError(result: number, what: string): RioError {
  const name = errnoNames.get(-result) ?? 'EIO';
  return netError(name, `${what}: ${name} (errno ${-result})`);
}

export class UringTransport implements Transport {
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

class UringIo implements Io {
  readonly datapath = 'uring' as const;
  readonly reason = 'io_uring: operations on the pool ring with fixed buffers';

  constructor(
    private readonly pool: Pool,
    private readonly reactor: Reactor,
    private readonly sockets: Sockets,
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

  listen(server: Server, host: string, port: number, backlog: number, receiveSize: number, accepted: (t: Transport) => void) {
    let listening: [number, number];
    try {
      listening = this.sockets.listen(host, port, backlog);
    } catch (e) {
      const err = e as { code?: string; message: string };
      return Promise.reject(netError(err.code, `listen ${host}:${port}: ${err.message}`, e));
    }
    const [fd, bound] = listening;
    let op = 0;
    let stopped: (() => void) | undefined;
    const alloc = allocatorOf(this.pool);
    const next = () => {
      op = this.reactor.accept(fd, (result) => {
        op = 0;
        if (stopped !== undefined) {
          if (result >= 0) this.sockets.close(result);
          this.sockets.close(fd);
          stopped();
          return;
        }
        if (result >= 0) accepted(new UringTransport(this.reactor, alloc, result, receiveSize));
        else if (result !== -os.constants.errno.ECANCELED) server.emit('error', resultError(result, 'accept'));
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
    return Promise.resolve({ address: { port: bound, host } as AddressInfo, stop });
  }

  connect(host: string, port: number, receiveSize: number): Promise<Transport> {
    let fd: number;
    try {
      fd = this.sockets.socket(host);
    } catch (e) {
      const err = e as { code?: string; message: string };
      return Promise.reject(netError(err.code, `connect ${host}:${port}: ${err.message}`, e));
    }
    return new Promise((resolve, reject) => {
      this.reactor.connect(fd, host, port, (result) => {
        if (result === 0) {
          resolve(new UringTransport(this.reactor, allocatorOf(this.pool), fd, receiveSize));
        } else {
          this.sockets.close(fd);
          reject(resultError(result, `connect ${host}:${port}`));
        }
      });
    });
  }
}

/** The uring datapath of a pool, or why it cannot run. */
export function openUringIo(pool: Pool): Io | string {
  const backend = registrarOf(pool);
  const opened = backend.openRing();
  if (typeof opened === 'string') return opened;
  const reactor = new Reactor(opened.ring);
  backend.attachReactor?.(reactor);
  return new UringIo(pool, reactor, opened.sockets);
}
