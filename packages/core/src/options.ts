/**
 * The allocator's options: their defaults and ranges, checked once when a pool is made.
 * A bad option is an ERR_RIO_INVALID_OPTION naming the option, its value and the rule.
 */
import { RioError } from './errors';
import { is, type Schema } from './schema';

/** The allocator's keys, for the schemas of functions that take them (resolveOptions checks the values). */
export const SLAB_POOL_SCHEMA: Schema = {
  slabBytes: is.checkedElsewhere,
  largestClass: is.checkedElsewhere,
  maxBytes: is.checkedElsewhere,
  emptySlabsKept: is.checkedElsewhere,
  emptySlabsMax: is.checkedElsewhere,
  emptyBytesMax: is.checkedElsewhere,
  maxRegisteredBytes: is.checkedElsewhere,
  overflow: is.checkedElsewhere,
};

export interface SlabPoolOptions {
  /** Target slab size in bytes; default 64 KiB. */
  slabBytes?: number;
  /** Largest slot size served from shared slabs; default one OS page. */
  largestClass?: number;
  /** Most bytes the pool may map; default unlimited (the OS's lock limit still applies). */
  maxBytes?: number;
  /** Empty slabs per class that automatic retirement leaves in place; default 1. */
  emptySlabsKept?: number;
  /** Empty slabs per class that trigger automatic retirement; default 4. */
  emptySlabsMax?: number;
  /**
   * Most bytes of empty slabs the pool keeps, over every class; past it, empty slabs are retired
   * at once (the longest empty first, down to half of it). Default 4 MiB, and at most a quarter
   * of maxRegisteredBytes.
   */
  emptyBytesMax?: number;
  /**
   * Most bytes the pool registers (pins or locks). Past it, and whenever the OS refuses a
   * registration (RLIMIT_MEMLOCK, a full registration table), new slabs are overflow slabs:
   * mapped, page-aligned, not registered. Default: unlimited here; the pool package sets it
   * from the OS's lock limit.
   */
  maxRegisteredBytes?: number;
  /** Serve from overflow slabs past the registration budget (default true); false: throw ERR_RIO_MEMLOCK. */
  overflow?: boolean;
}

/** Every option with its value decided. */
export type ResolvedOptions = Required<SlabPoolOptions>;

function invalidOption(name: string, value: unknown, rule: string): RioError {
  return new RioError('ERR_RIO_INVALID_OPTION', `option ${name}=${String(value)}: ${rule}`);
}

function intOption(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value === Infinity || Number.isInteger(value)) || value < min || value > max) {
    throw invalidOption(
      name,
      value,
      max === Infinity ? `must be an integer of at least ${min}` : `must be an integer from ${min} to ${max}`,
    );
  }
  return value;
}

/** Checks the options against the page size and the largest registration, and fills in the defaults. */
export function resolveOptions(options: SlabPoolOptions, pageSize: number, maxRegistrationBytes: number): ResolvedOptions {
  const emptySlabsKept = intOption('emptySlabsKept', options.emptySlabsKept, 1, 0, 1 << 20);
  const emptySlabsMax = intOption('emptySlabsMax', options.emptySlabsMax, Math.max(4, emptySlabsKept), 0, 1 << 20);
  if (emptySlabsMax < emptySlabsKept) throw invalidOption('emptySlabsMax', emptySlabsMax, 'must be at least emptySlabsKept');
  const maxRegisteredBytes = intOption('maxRegisteredBytes', options.maxRegisteredBytes, Infinity, 0, Infinity);
  if (options.overflow !== undefined && typeof options.overflow !== 'boolean')
    throw invalidOption('overflow', options.overflow, 'must be a boolean');
  return {
    slabBytes: intOption('slabBytes', options.slabBytes, 64 * 1024, pageSize, maxRegistrationBytes),
    largestClass: intOption('largestClass', options.largestClass, pageSize, 16, 1 << 20),
    maxBytes: intOption('maxBytes', options.maxBytes, Infinity, pageSize, Infinity),
    emptySlabsKept,
    emptySlabsMax,
    emptyBytesMax: intOption(
      'emptyBytesMax',
      options.emptyBytesMax,
      Math.min(4 * 1024 * 1024, Math.floor(maxRegisteredBytes / 4)),
      0,
      Infinity,
    ),
    maxRegisteredBytes,
    overflow: options.overflow ?? true,
  };
}
