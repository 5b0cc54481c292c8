/**
 * @riopool/core: riopool's allocation policy in pure TypeScript. Imports nothing native; memory
 * comes from a Registrar (the pool package supplies one over the native addon).
 */
export { RioError, ErrorCodes, isRioError, type RioErrorCode } from './errors';
export {
  SizeClassTable,
  classSizeFor,
  slabBytesFor,
  GRANULE,
  SMALL_LIMIT,
  CLASSES_PER_DOUBLING,
  DEFAULT_SLAB_BYTES,
  MAX_SLOTS_PER_SLAB,
  MIN_SLOTS_PER_SLAB,
  type SizeClass,
  type SizeClassOptions,
} from './size-classes';
export { MemoryRegistrar, detach, type Registrar, type MemoryRegistrarOptions } from './registrar';
export { Lease, type RioBuf, type LeaseOwner } from './lease';
export { Slab, SlabClass, handleOf, type SlabState } from './slab';
export { SlabPool, MAX_SLABS, MAX_LENGTH, WINDOW, type SlabPoolOptions, type RioBufOut } from './pool';
export { STATS_VERSION, type PoolStats, type ClassStats } from './stats';
export { modelPerBuffer, modelSlabs, nextPackedOffset, type FootprintFigures } from './footprint';
