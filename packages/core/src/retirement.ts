/**
 * Retirement: how many empty slabs of one class to retire after a release empties a slab.
 *
 * Each class records the most slots leased at once in its current window of WINDOW acquires and
 * in the window before ("recent peak"). Keeping slabs a steady load will reuse avoids a
 * register/deregister cycle on every swing around a slab boundary; after a load drops, the
 * slabs it no longer needs go a window or two later.
 *
 *   needed  = max(ceil(recentPeak / slotsPerSlab), slabs - emptySlabs)   slabs the load needs
 *   target  = needed + kept                                               what stays
 *   retire  = slabs - target   if slabs > target + (max - kept), else 0   (the hysteresis band)
 *
 * `kept` is the pool's emptySlabsKept option, `max` its emptySlabsMax (max >= kept). The pool
 * calls this only when a class holds more than `max` empty slabs, so this is off the hot path.
 */

/** Acquires per class in one window of its recent peak (a power of two). */
export const WINDOW = 4096; // 1 << 12

/** What retirement looks at in one class. */
export interface ClassLoad {
  readonly slabs: number;
  readonly emptySlabs: number;
  readonly slotsPerSlab: number;
  readonly windowPeak: number;
  readonly lastWindowPeak: number;
}

/** Empty slabs to retire now (0 .. emptySlabs). A pure function of the class's load. */
export function slabsToRetire(c: ClassLoad, kept: number, max: number): number {
  const recentPeak = Math.max(c.windowPeak, c.lastWindowPeak);
  const needed = Math.max(Math.ceil(recentPeak / c.slotsPerSlab), c.slabs - c.emptySlabs);
  const target = needed + kept;
  if (c.slabs <= target + (max - kept)) return 0;
  return Math.min(c.emptySlabs, c.slabs - target);
}
