/**
 * @riopool/pool: a page-aware buffer pool for registered I/O. Everything exported here is
 * documented in docs/api.md; tools for users' own tests are in `@riopool/pool/testing`, the
 * footprint report in `@riopool/pool/report` and the `riopool` command.
 *
 *   const pool = createPool();
 *   const lease = pool.acquire(512);   // lease.rioBuf: { bufferId, offset, length }; lease.bytes: a Buffer
 *   lease.release();
 *   await pool.close();
 */
export { createPool, type Pool, type PoolOptions, type PoolStats, type Footprint } from './pool';
export type { CloseOptions, PoolOutstanding, OutstandingLease, OutstandingError } from './closing';
export { POISON, type PoolReport } from './tracking';
export type { BackendKind, Fallback, FallbackRecord } from './backend';
export { leaseReader, attachReader, adoptSocket, writeLease, writeLeaseAsync, type LeaseReader } from './net';
export {
  createServer,
  connect,
  type Server,
  type ServerEvents,
  type IoOptions,
  type ListenOptions,
  type ConnectTarget,
  type AddressInfo,
} from './io/server';
export type { Connection, ConnectionEvents, ConnectionOptions } from './io/connection';
export { isRiopoolWarning, RiopoolWarningCodes, type RiopoolWarning, type RiopoolWarningCode } from './warnings';
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
