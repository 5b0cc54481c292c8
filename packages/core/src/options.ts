/**
 * The allocator's options: their defaults and ranges, checked when a pool is made with
 * schema.ts's rules (the one place options are validated; createPool reads them with the same
 * rules first, so a value is checked twice, by one rule). A bad option is an
 * ERR_RIO_INVALID_OPTION naming the function, the option, its value and the rule.
 */
import { checkValue, invalidOption, is, type Schema } from './schema';

/**
 * The allocator's keys and the rules that need no platform figure. resolveOptions adds the
 * ranges that depend on the page size and the backend's largest registration.
 */
export const ALLOCATOR_SCHEMA: Schema = {
  slabBytes: is.int(1, Infinity),
  largestClass: is.int(16, 1 << 20),
  maxBytes: is.int(1, Infinity),
  emptySlabsKept: is.int(0, 1 << 20),
  emptySlabsMax: is.int(0, 1 << 20),
  emptyBytesMax: is.int(0, Infinity),
  maxRegisteredBytes: is.int(0, Infinity),
  overflow: is.bool,
};

export interface AllocatorOptions {
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
export type ResolvedOptions = Required<AllocatorOptions>;

/** Checks the options against the page size and the largest registration, and fills in the defaults. */
export function resolveOptions(
  options: AllocatorOptions,
  pageSize: number,
  maxRegistrationBytes: number,
  fn = 'createPool',
): ResolvedOptions {
  const rules: Schema = { ...ALLOCATOR_SCHEMA, slabBytes: is.int(pageSize, maxRegistrationBytes), maxBytes: is.int(pageSize, Infinity) };
  for (const key of Object.keys(rules)) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined) checkValue(fn, key, value, rules[key]!);
  }
  const o = options as { [K in keyof AllocatorOptions]-?: AllocatorOptions[K] };
  const emptySlabsKept = o.emptySlabsKept ?? 1;
  const emptySlabsMax = o.emptySlabsMax ?? Math.max(4, emptySlabsKept);
  if (emptySlabsMax < emptySlabsKept) throw invalidOption(fn, 'emptySlabsMax', emptySlabsMax, 'must be at least emptySlabsKept');
  const maxRegisteredBytes = o.maxRegisteredBytes ?? Infinity;
  return {
    slabBytes: o.slabBytes ?? 64 * 1024,
    largestClass: o.largestClass ?? pageSize,
    maxBytes: o.maxBytes ?? Infinity,
    emptySlabsKept,
    emptySlabsMax,
    emptyBytesMax: o.emptyBytesMax ?? Math.min(4 * 1024 * 1024, Math.floor(maxRegisteredBytes / 4)),
    maxRegisteredBytes,
    overflow: o.overflow ?? true,
  };
}
