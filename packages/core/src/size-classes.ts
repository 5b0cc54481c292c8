/**
 * Size classes: which slot size serves a request, and how big a slab of each class is.
 *
 * Glossary
 *   page        the OS page size, from the registrar (never a constant here)
 *   granule     16 bytes: every slot size is a multiple of it, every slot 16-byte aligned
 *   class       a slot size; a request of n bytes gets the smallest class >= n
 *   slab        whole pages holding `slotsPerSlab` slots of one class
 *
 * The formula (classSizeFor), for a request of n bytes:
 *   n <= 128                      round n up to 16 bytes                     (16, 32, ... 128)
 *   2^k < n <= 2^(k+1), n > 128   round n up to 2^k / 8: 8 classes per doubling
 *   result >= page                round up to whole pages: such slots are whole, page-aligned pages
 *
 * Waste bound: with 8 classes per doubling, slot - n < 2^k / 8 <= slot / 8, so rounding wastes
 * less than 12.5% of the slot for every n from 128 bytes to the largest class, as long as the
 * largest class is at most one page. Above one page, a slot must be whole pages, and a request
 * of page + 1 bytes needs two: the two rules cannot both hold there. So by default the largest
 * class is one page, and a larger request gets a dedicated slab of its own, rounded up to whole
 * pages (one slot, reused through the empty-slab reserve like any slab). `largestClass` may be
 * raised (to put 4 .. 64 KiB buffers in shared slabs); then lengths between 1 and 8 pages waste
 * up to one page per slot, and from 8 pages on the 12.5% bound holds again.
 *
 * Slab size: at least `slabBytes` (64 KiB by default) and at least 8 slots, rounded up to whole
 * pages. Since a slab holds at least 8 slots, its unusable tail (slab mod slot) is less than one
 * slot, so at most 1/8 of the slab. Slots per slab are capped at 65,536 (handles keep the slot
 * in 16 bits).
 */

import { MAX_SLOTS_PER_SLAB } from './handle';

/** Every slot size is a multiple of this; every slot is aligned to it. */
export const GRANULE = 16; // 1 << 4
/** Up to here classes step by GRANULE. */
export const SMALL_LIMIT = 128; // 1 << 7
/** Classes per doubling above SMALL_LIMIT. */
export const CLASSES_PER_DOUBLING = 8; // 1 << 3
/** Default target slab size. */
export const DEFAULT_SLAB_BYTES = 64 * 1024; // 1 << 16
/** A slab holds at least this many slots, which bounds its tail to 1/8. */
export const MIN_SLOTS_PER_SLAB = 8;

function roundUp(n: number, step: number): number {
  return Math.ceil(n / step) * step;
}

/** The class size the formula gives for a request of n bytes (n >= 1). */
export function classSizeFor(n: number, pageSize: number): number {
  let size: number;
  if (n <= SMALL_LIMIT) {
    size = roundUp(n, GRANULE);
  } else {
    const k = 31 - Math.clz32(n - 1); // 2^k < n <= 2^(k+1)
    size = roundUp(n, 2 ** k / CLASSES_PER_DOUBLING);
  }
  return size >= pageSize ? roundUp(size, pageSize) : size;
}

/** Slab bytes for a class: >= target, >= 8 slots, whole pages, <= 65,536 slots. */
export function slabBytesFor(slotSize: number, pageSize: number, target: number): number {
  const wanted = Math.max(target, MIN_SLOTS_PER_SLAB * slotSize);
  let bytes = roundUp(wanted, pageSize);
  const cap = Math.floor((MAX_SLOTS_PER_SLAB * slotSize) / pageSize) * pageSize;
  if (bytes > cap) bytes = cap;
  return bytes;
}

export interface SizeClass {
  readonly index: number;
  readonly slotSize: number;
  readonly slabBytes: number;
  readonly slotsPerSlab: number;
}

export interface SizeClassOptions {
  pageSize: number;
  /** Largest slot size served from shared slabs; default one page. */
  largestClass?: number;
  /** Target slab size; default 64 KiB. */
  slabBytes?: number;
}

/**
 * The class table for one page size, with the one O(1) lookup by length in riopool. `make`
 * turns each class's figures into the object the table hands out (the allocator makes its
 * SlabClass there), so a lookup is one array load: `byGranule[ceil(length / 16)]`.
 */
export class SizeClassTable<C extends SizeClass = SizeClass> {
  readonly pageSize: number;
  readonly largestClass: number;
  readonly targetSlabBytes: number;
  readonly classes: readonly C[];
  /** The class by ceil(length / GRANULE), for lengths 1 .. largestClass. */
  private readonly byGranule: C[];

  constructor(options: SizeClassOptions, make: (figures: SizeClass) => C = (f) => f as C) {
    const { pageSize } = options;
    this.pageSize = pageSize;
    this.targetSlabBytes = options.slabBytes ?? DEFAULT_SLAB_BYTES;
    this.largestClass = classSizeFor(options.largestClass ?? pageSize, pageSize);
    const classes: C[] = [];
    const fromGranule1: C[] = [];
    let current: C | undefined;
    for (let g = 1; g * GRANULE <= this.largestClass; g++) {
      const size = classSizeFor(g * GRANULE, pageSize);
      if (current === undefined || size !== current.slotSize) {
        const slabBytes = slabBytesFor(size, pageSize, this.targetSlabBytes);
        current = make({ index: classes.length, slotSize: size, slabBytes, slotsPerSlab: Math.floor(slabBytes / size) });
        classes.push(current);
      }
      fromGranule1.push(current);
    }
    this.classes = classes;
    // Entry 0 is never asked for (lengths start at 1); filling it keeps the array packed.
    this.byGranule = [classes[0]!, ...fromGranule1];
  }

  /** The class of a length in 1 .. largestClass. Pre: the length is an integer in that range. */
  classFor(length: number): C {
    return this.byGranule[(length + GRANULE - 1) >> 4]!;
  }

  /** The dedicated slab size for a length above the largest class: whole pages. */
  dedicatedBytes(length: number): number {
    return roundUp(length, this.pageSize);
  }
}
