/**
 * @riopool/pool/testing: what a user needs to test their own code that uses riopool, and what
 * riopool's tests use: the invariant check, handle decoding, a leak assertion, a pool over the
 * in-memory registrar (the real allocator, no native memory) and fast-check arbitraries
 * (arbitraries.ts; fast-check is a peer dependency of this subpath only).
 *
 *   import { createCheckedPool, checkInvariants, assertNoOutstanding } from '@riopool/pool/testing';
 *   const pool = createCheckedPool();
 *   ... run the code under test ...
 *   checkInvariants(pool);
 *   assertNoOutstanding(pool);      // every lease released
 */
import {
  MemoryRegistrar,
  RioError,
  checkInvariants as checkAllocator,
  describeHandle as describe,
  type MemoryRegistrarOptions,
  type RioBufOut,
} from '@riopool/core';
import type { BackendRegistrar } from '../backend';
import { allocatorOf, createPool, poolOn, type Pool, type PoolOptions } from '../pool';

export { MemoryRegistrar, type MemoryRegistrarOptions } from '@riopool/core';
export {
  lengthArbitrary,
  workloadArbitrary,
  runWorkload,
  type FastCheckModuleCjs,
  type FastCheckModuleEsm,
  type LengthOptions,
  type WorkloadOptions,
  type WorkloadStep,
  type WorkloadRun,
} from './arbitraries';

/** Throws an Error naming the first broken memory-safety invariant of the pool (docs/design.md). */
export function checkInvariants(pool: Pool): void {
  checkAllocator(allocatorOf(pool));
}

/**
 * Writes the RioBuf of the slot a handle names into `out` (`length` 0 for a free slot) and
 * returns the slot size. ERR_RIO_INVALID_BUFFER for a value that names no slot of a live slab.
 */
export function describeHandle(pool: Pool, handle: number, out: RioBufOut): number {
  const size = describe(allocatorOf(pool).slabs, handle, out);
  if (size === undefined) throw new RioError('ERR_RIO_INVALID_BUFFER', `describeHandle: ${String(handle)} is not a handle of this pool`);
  return size;
}

/** Throws ERR_RIO_INVALID_BUFFER listing the classes that still have leases outstanding. */
export function assertNoOutstanding(pool: Pool): void {
  const s = pool.stats();
  if (s.totals.leased === 0) return;
  const where = s.classes.filter((c) => c.leased > 0).map((c) => `${c.leased} of ${c.slotSize} B`);
  throw new RioError('ERR_RIO_INVALID_BUFFER', `assertNoOutstanding: ${s.totals.leased} lease(s) outstanding (${where.join(', ')})`);
}

/** A pool in checked mode: poisoned releases, writes after release and leaks reported. */
export function createCheckedPool(options: PoolOptions = {}): Pool {
  return createPool({ ...options, checked: true });
}

class MemoryBackend extends MemoryRegistrar implements BackendRegistrar {
  residentBytes(): null {
    return null;
  }
  memoryStatus() {
    return { pinned: null, locked: null, rss: null };
  }
  close(): void {}
  openRing(): string {
    return 'the in-memory registrar has no ring';
  }
}

/**
 * A pool over the in-memory registrar: the real allocator and leases on plain ArrayBuffers, no
 * native call, no locked memory. For fast property tests of code that uses a pool.
 */
export function createMemoryPool(options: PoolOptions & MemoryRegistrarOptions = {}): Pool {
  return poolOn(new MemoryBackend(options), [], options);
}
