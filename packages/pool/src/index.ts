/**
 * @riopool/pool: a page-aware buffer pool for registered I/O. Everything exported here is
 * documented in docs/api.md; tools for users' own tests are in `@riopool/pool/testing`, the
 * footprint report in `@riopool/pool/report` and the `riopool` command.
 *
 *   const pool = createPool();
 *   const lease = pool.acquire(512);   // lease.buf: { bufferId, offset, length }; lease.bytes
 *   lease.release();
 *   await pool.close();
 */
export { createPool, type Pool, type PoolOptions, type PoolStats, type Footprint } from './pool';
export { POISON, type PoolReport } from './tracking';
export type { BackendKind, Fallback, FallbackRecord } from './backend';
export { leaseReader, attachReader, adoptSocket, writeLease, type LeaseReader } from './net';
export { createServer, connect, type Server, type IoOptions, type ListenOptions, type AddressInfo } from './io/server';
export type { Connection, ConnectionOptions } from './io/connection';
export { toDuplex, type DuplexOptions } from './io/stream';
export { ReceiveBuffer, type ReceiveBufferOptions } from './receive-buffer';
export { LeaseWriter, type LeaseWriterOptions } from './lease-writer';
export type { Datapath, IoStats } from './io/datapath';
export {
  RioError,
  ErrorCodes,
  NetErrorCodes,
  isRioError,
  STATS_VERSION,
  type Lease,
  type RioErrorCode,
  type NetErrorCode,
  type RioBuf,
  type RioBufOut,
  type ClassStats,
} from '@riopool/core';
