/**
 * The datapath of a pool: chosen once, on the first server or connection, and reported by
 * pool.stats().io, never silently.
 *
 *   uring  operations on the pool's own ring (the `uring` backend's io_uring, whose fixed-buffer
 *          table holds the slabs): receives and sends name the slab's buffer id
 *   net    node:net on the pool's buffers (transport-net.ts)
 *
 * 'auto' takes uring where it can run and net elsewhere, with the reason in stats().io.reason.
 * Asking for 'uring' where it cannot run is an ERR_RIO_DATAPATH error that says why.
 */
import { RioError } from '@riopool/core';
import type { Pool } from '../pool';
import { ioStatsOf } from '../pool';
import type { Transport } from './connection';
import { openUringIo } from './io-uring';
import type { Server, AddressInfo } from './server';

export type Datapath = 'uring' | 'net';

export interface IoStats {
  /** The datapath in use, or 'none' before the first server or connection. */
  datapath: Datapath | 'none';
  /** Why this datapath (for 'net': why not uring). */
  reason: string;
  /** Operations in flight on the ring, submit calls and operations submitted (uring only). */
  opsInFlight: number;
  submitCalls: number;
  opsSubmitted: number;
  completionBatches: number;
}

/** A pool's datapath, once chosen. */
export interface Io {
  readonly datapath: Datapath;
  readonly reason: string;
  stats(): IoStats;
  /** uring only: listen on host:port and accept through the ring; stop() ends accepting. */
  listen(
    server: Server,
    host: string,
    port: number,
    backlog: number,
    receiveSize: number,
    accepted: (t: Transport) => void,
  ): Promise<{ address: AddressInfo; stop: () => Promise<void> }>;
  /** uring only: connect through the ring. */
  connect(host: string, port: number, receiveSize: number): Promise<Transport>;
}

class NetIo implements Io {
  readonly datapath = 'net' as const;
  constructor(readonly reason: string) {}
  stats(): IoStats {
    return { datapath: 'net', reason: this.reason, opsInFlight: 0, submitCalls: 0, opsSubmitted: 0, completionBatches: 0 };
  }
  listen(): Promise<{ address: AddressInfo; stop: () => Promise<void> }> {
    return Promise.reject(new Error('riopool internal error: NetIo.listen'));
  }
  connect(): Promise<Transport> {
    return Promise.reject(new Error('riopool internal error: NetIo.connect'));
  }
}

const ios = new WeakMap<Pool, Io>();

export function ioOf(pool: Pool, asked: Datapath | 'auto'): Io {
  if (asked !== 'auto' && asked !== 'uring' && asked !== 'net') {
    throw new RioError('ERR_RIO_INVALID_OPTION', `datapath must be 'auto', 'uring' or 'net', got ${String(asked)}`);
  }
  let io = ios.get(pool);
  if (io === undefined) {
    io = open(pool, asked);
    ios.set(pool, io);
    const chosen = io;
    ioStatsOf.set(pool, () => chosen.stats());
  } else if (asked !== 'auto' && asked !== io.datapath) {
    throw new RioError('ERR_RIO_DATAPATH', `this pool already runs the ${io.datapath} datapath; a pool runs one`);
  }
  return io;
}

function open(pool: Pool, asked: Datapath | 'auto'): Io {
  if (asked === 'net') return new NetIo('asked for');
  const backend = pool.stats().backend;
  const uring = backend === 'uring' ? openUringIo(pool) : `the pool's backend is ${backend}, not uring`;
  if (typeof uring !== 'string') return uring;
  if (asked === 'uring') throw new RioError('ERR_RIO_DATAPATH', `the uring datapath cannot run: ${uring}`);
  return new NetIo(uring);
}
