/**
 * @riopool/core: riopool's allocation policy in pure TypeScript. Imports nothing native; memory
 * comes from a Registrar (the pool package supplies one over the native addon).
 *
 * This package is internal to riopool: @riopool/pool is the public API. Its exports may change
 * in any release.
 */
export { readOptions, invalidOption, shown, isInstance, is, type Rule, type Schema } from './schema';
export { ALLOCATOR_SCHEMA } from './options';
export { RioError, ErrorCodes, NetErrorCodes, isRioError, type RioErrorCode, type NetErrorCode } from './errors';
export {
  SizeClassTable,
  classSizeFor,
  slabBytesFor,
  GRANULE,
  SMALL_LIMIT,
  CLASSES_PER_DOUBLING,
  DEFAULT_SLAB_BYTES,
  MIN_SLOTS_PER_SLAB,
  type SizeClass,
  type SizeClassOptions,
} from './size-classes';
export {
  MAX_SLABS,
  MAX_SLOTS_PER_SLAB,
  MAX_GENERATION,
  handleOf,
  lowOf,
  generationOf,
  slabIdOf,
  slotOf,
  slotKey,
  type RioBufOut,
} from './handle';
export { HandleTable, TAG_MAX, MAX_ENTRIES } from './handle-table';
export { MemoryRegistrar, MEMORY_REGISTRAR_SCHEMA, detach, type Registrar, type Pinning, type MemoryRegistrarOptions } from './registrar';
export { Lease, leaseSlot, LeaseOfSlot, TrackedLeaseOfSlot, type LeaseTracker, type RioBuf, type LeaseSlot } from './lease';
export { SlabBytes, bytesView } from './view';
export { Slab, SlabClass, type SlabState, type SlabOwner } from './slab';
export { Allocator } from './allocator';
export type { OverflowEvent } from './slab-life';
export type { AllocatorOptions } from './options';
export { WINDOW, emptiestFirst, emptySince, overBound, slabsToRetire, type ClassLoad, type EmptySlab } from './retirement';
export { checkInvariants } from './invariants';
export { STATS_VERSION, type AllocatorStats, type ClassStats } from './stats';
export { modelPerBuffer, modelSlabs, nextPackedOffset, type FootprintFigures } from './footprint';
