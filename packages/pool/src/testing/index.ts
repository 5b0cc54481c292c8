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
  MEMORY_REGISTRAR_SCHEMA,
  invalidOption,
  isRioError,
  shown,
  RioError,
  readOptions,
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
  checkPool('describeHandle', pool);
  if (typeof out !== 'object' || out === null) {
    throw new RioError('ERR_RIO_INVALID_BUFFER', `describeHandle: out: ${shown(out)} must be an object to write the RioBuf into`);
  }
  let size: number | undefined;
  try {
    size = allocatorOf(pool).describeHandle(handle, out);
  } catch (cause) {
    if (isRioError(cause)) throw cause;
    // Frozen, sealed without the fields, a setter that throws: nothing was taken.
    throw new RioError('ERR_RIO_INVALID_BUFFER', 'describeHandle: out could not be written (frozen, sealed or a setter that throws)', {
      cause,
    });
  }
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

/** A pool in checked mode: poisoned releases, writes after release and leaks reported. createPool's options; `checked` may only be true. */
export function createCheckedPool(given: PoolOptions = {}): Pool {
  const options = readOptions<PoolOptions>('createCheckedPool', given, POOL_SCHEMA);
  if (options.checked === false)
    throw invalidOption('createCheckedPool', 'checked', false, 'must be true (or left out): the pool is checked');
  return createPool({ ...options, checked: true });
}

/** createMemoryPool's options: createPool's and the in-memory registrar's. */
const MEMORY_POOL_SCHEMA: Schema = { ...POOL_SCHEMA, ...MEMORY_REGISTRAR_SCHEMA };

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
  const registrarOptions = Object.fromEntries(Object.entries(options).filter(([k]) => Object.hasOwn(MEMORY_REGISTRAR_SCHEMA, k)));
  return poolOn(new MemoryPoolRegistrar(registrarOptions), [], options);
}
