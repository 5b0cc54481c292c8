/**
 * @riopool/pool: a page-aware buffer pool for registered I/O.
 *
 *   const pool = createPool();
 *   const lease = pool.acquire(512);   // lease.buf: { bufferId, offset, length }; lease.bytes
 *   lease.release();
 *   await pool.close();
 */
export { createPool, Pool, POISON, type PoolOptions, type PoolReport, type PoolStatsWithBackend, type Footprint } from './pool';
export { openBackend, defaultBackend, NativeBackendRegistrar, type BackendKind, type Fallback, type FallbackRecord } from './backend';
export { leaseReader, attachReader, adoptSocket, writeLease, type LeaseReader } from './net';
export {
  RioError,
  ErrorCodes,
  isRioError,
  Lease,
  STATS_VERSION,
  modelPerBuffer,
  modelSlabs,
  SizeClassTable,
  type RioErrorCode,
  type RioBuf,
  type RioBufOut,
  type PoolStats,
  type ClassStats,
  type FootprintFigures,
} from '@riopool/core';
export { runReport, workloadLengths, heldBytes, REPORT_SCHEMA, MIXED, type Report, type StrategyResult, type ReportOptions } from './report';
export { sweepSvg, sweepHtml } from './chart';
