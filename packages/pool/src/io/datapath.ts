/**
 * The datapath of a pool: how its connections move bytes, chosen once (on the first server or
 * connection) and reported by pool.stats().io, never silently.
 *
 *   uring  operations on the pool's own ring: the `uring` backend's io_uring, whose fixed-buffer
 *          table holds the slabs, so receives and sends name a slab by its buffer id
 *          (datapath-uring.ts)
 *   net    node:net on the pool's buffers (datapath-net.ts), where the ring cannot run
 *
 * 'auto' takes uring where it can run and net elsewhere, with the reason in stats().io.reason.
 * Asking for 'uring' where it cannot run is an ERR_RIO_DATAPATH error that says why.
 *
 * Each datapath is an Io (transport.ts, the contract): it listens and connects, and hands every
 * connected socket to the caller as a Transport, on which server.ts builds a Connection.
 */
import { RioError, shown, type Allocator } from '@riopool/core';
import type { PoolRegistrar } from '../backend';
import { openNetIo } from './datapath-net';
import { openUringIo } from './datapath-uring';
import type { Datapath, Io, IoStats } from './transport';

export type { AddressInfo, Datapath, Io, IoStats, Listener, ReceiveMode, TransportOptions } from './transport';

const NONE: IoStats = {
  datapath: 'none',
  reason: 'no server or connection yet',
  opsInFlight: 0,
  submitCalls: 0,
  opsSubmitted: 0,
  completionBatches: 0,
  receive: 'none',
  receiveReason: 'no server or connection yet',
  ring: null,
  coalescedSends: 0,
};

/** What the pool waits for at close: a connection's 'close' (and what close({ force }) destroys). */
interface Closing {
  readonly closed: boolean;
  once(event: 'close', listener: () => void): unknown;
  destroy(): void;
}

/** The datapath of one pool: none until asked for, then the one chosen, for good. */
export class PoolIo {
  #io: Io | undefined;
  /** The pool's open connections (servers' and connect()'s), until their 'close', each with what it is (for close()'s report). */
  readonly connections = new Map<Closing, string>();

  constructor(
    private readonly registrar: PoolRegistrar,
    private readonly alloc: Allocator,
  ) {}

  /** The pool's datapath, opened on the first call: `asked` (or the best, for 'auto'). */
  get(asked: Datapath | 'auto'): Io {
    if (asked !== 'auto' && asked !== 'uring' && asked !== 'net') {
      throw new RioError('ERR_RIO_INVALID_OPTION', `datapath must be 'auto', 'uring' or 'net', got ${shown(asked)}`);
    }
    if (this.#io === undefined) {
      this.#io = this.#open(asked);
    } else if (asked !== 'auto' && asked !== this.#io.datapath) {
      throw new RioError('ERR_RIO_DATAPATH', `this pool already runs the ${this.#io.datapath} datapath; a pool runs one`);
    }
    return this.#io;
  }

  stats(): IoStats {
    return this.#io?.stats() ?? { ...NONE };
  }

  /** A decay tick of the pool (pool.ts). */
  decay(): void {
    this.#io?.decay();
  }

  /** A connection of this pool, open until its 'close'; `description` says where it came from. */
  track(conn: Closing, description: string): void {
    if (conn.closed) return;
    this.connections.set(conn, description);
    conn.once('close', () => this.connections.delete(conn));
  }

  /**
   * The pool is closing: the datapath lets go of what it holds for receives to come (a
   * connection that receives again gets ERR_RIO_POOL_CLOSED, then 'close'). Resolves once every
   * connection of the pool has closed.
   */
  close(): Promise<void> {
    this.#io?.close();
    return this.connectionsClosed();
  }

  /** Resolves once every connection open now has closed. */
  connectionsClosed(): Promise<void> {
    return Promise.all(
      [...this.connections.keys()].map((c) => (c.closed ? undefined : new Promise<void>((r) => c.once('close', () => r())))),
    ).then(() => undefined);
  }

  #open(asked: Datapath | 'auto'): Io {
    if (asked === 'net') return openNetIo(this.alloc, 'asked for');
    const uring = openUringIo(this.registrar, this.alloc);
    if (typeof uring !== 'string') return uring;
    if (asked === 'uring') throw new RioError('ERR_RIO_DATAPATH', `the uring datapath cannot run: ${uring}`);
    return openNetIo(this.alloc, uring);
  }
}
