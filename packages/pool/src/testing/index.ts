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
  shown,
  RioError,
  is,
  readOptions,
  type Rule,
  type Schema,
  checkInvariants as checkAllocator,
  type MemoryRegistrarOptions,
  type RioBufOut,
} from '@riopool/core';
import type { PoolRegistrar } from '../backend';
import { POOL_SCHEMA, allocatorOf, checkPool, createPool, poolOn, type Pool, type PoolOptions } from '../pool';

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
  const size = allocatorOf(pool).describeHandle(handle, out);
  if (size === undefined) throw new RioError('ERR_RIO_INVALID_BUFFER', `describeHandle: ${shown(handle)} is not a handle of this pool`);
  return size;
}

/**
 * Throws ERR_RIO_INVALID_BUFFER listing the classes that still have leases outstanding. The
 * buffers the pool's own datapath lends the kernel for receives to come (stats().io.ring.lent)
 * are not the caller's leases and do not count.
 */
export function assertNoOutstanding(pool: Pool): void {
  checkPool('assertNoOutstanding', pool);
  const s = pool.stats();
  const outstanding = s.totals.leased - (s.io.ring?.lent ?? 0);
  if (outstanding === 0) return;
  const where = s.classes.filter((c) => c.leased > 0).map((c) => `${c.leased} of ${c.slotSize} B`);
  const ring = s.io.ring !== null && s.io.ring.lent > 0 ? `; ${s.io.ring.lent} of them lent to the receive ring` : '';
  throw new RioError('ERR_RIO_INVALID_BUFFER', `assertNoOutstanding: ${outstanding} lease(s) outstanding (${where.join(', ')}${ring})`);
}

/** A pool in checked mode: poisoned releases, writes after release and leaks reported. */
export function createCheckedPool(options: PoolOptions = {}): Pool {
  return createPool({ ...options, checked: true });
}

const powerOfTwo: Rule = (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 64 && v <= 1 << 20 && (v & (v - 1)) === 0
    ? undefined
    : 'must be a power of two from 64 to 1048576';

/** createMemoryPool's options: createPool's and the in-memory registrar's. */
const MEMORY_POOL_SCHEMA: Schema = {
  ...POOL_SCHEMA,
  pageSize: powerOfTwo,
  capacity: is.int(1, 1 << 20),
  outstanding: is.fn,
  lockLimitBytes: is.int(0, Number.MAX_SAFE_INTEGER),
  maxRegistrationBytes: is.int(64, 2 ** 40),
};

/** The in-memory registrar with what a pool needs beside it (no process figures, no ring). */
class MemoryPoolRegistrar extends MemoryRegistrar implements PoolRegistrar {
  residentBytes(): null {
    return null;
  }
  memoryStatus() {
    return { pinned: null, locked: null, rss: null, lockLimit: null };
  }
  close(): void {}
  ring(): string {
    return 'the in-memory registrar has no ring';
  }
  keepOpenWhile(): void {}
}

/**
 * A pool over the in-memory registrar: the real allocator and leases on plain ArrayBuffers, no
 * native call, no locked memory. For fast property tests of code that uses a pool.
 */
export function createMemoryPool(given: PoolOptions & MemoryRegistrarOptions = {}): Pool {
  const options = readOptions<PoolOptions & MemoryRegistrarOptions>('createMemoryPool', given, MEMORY_POOL_SCHEMA);
  return poolOn(new MemoryPoolRegistrar(options), [], options);
}
