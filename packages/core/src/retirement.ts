/**
 * Retirement: which empty slabs to retire, and when. Pure functions of what the allocator shows
 * them; the allocator does the retiring (allocator.ts, retire()).
 *
 * 1. After a release empties a slab (the class's band): how many of the class's empty slabs go
 *    (slabsToRetire), and which (emptiestFirst).
 * 2. At each decay tick: the slabs empty since before the previous tick (emptySince), then, over
 *    the pool's bound on empty bytes, the longest empty down to half of it (overBound).
 *
 * The band (1):
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

/** What the choice of slabs looks at in one slab. */
export interface EmptySlab {
  /** Slots leased (0: empty). */
  readonly leased: number;
  /** The decay tick at which it last became empty. */
  readonly emptySince: number;
  /** Negative for an overflow slab (not registered). */
  readonly bufferId: number;
}

/**
 * `count` empty slabs of `slabs` to retire: overflow slabs before registered ones (they are the
 * ones a full registration budget made), and among the rest the longest empty first.
 */
export function emptiestFirst<T extends EmptySlab>(slabs: readonly T[], count: number): T[] {
  const left = slabs.filter((s) => s.leased === 0);
  const chosen: T[] = [];
  while (chosen.length < count && left.length > 0) {
    let best = 0;
    for (let i = 1; i < left.length; i++) {
      const s = left[i]!;
      const b = left[best]!;
      const overflow = s.bufferId < 0;
      if (overflow !== b.bufferId < 0 ? overflow : s.emptySince < b.emptySince) best = i;
    }
    chosen.push(left.splice(best, 1)[0]!);
  }
  return chosen;
}

/** Decay: the slabs of `slabs` that have been empty since before tick `before` (a whole tick or more). */
export function emptySince<T extends EmptySlab>(slabs: readonly T[], before: number): T[] {
  return slabs.filter((s) => s.leased === 0 && s.emptySince < before);
}

/**
 * Decay over the pool's bound: of `slabs` (every live slab), the empty ones to retire, longest
 * empty first (then by buffer id), until the empty bytes left are at most half the bound.
 * `emptyBytes` is what is empty now; `bytesOf` a slab's size.
 */
export function overBound<T extends EmptySlab>(
  slabs: readonly (T | undefined)[],
  emptyBytes: number,
  bound: number,
  bytesOf: (s: T) => number,
): T[] {
  const empty = slabs.filter((s): s is T => s !== undefined && s.leased === 0);
  empty.sort((a, b) => a.emptySince - b.emptySince || a.bufferId - b.bufferId);
  const chosen: T[] = [];
  let left = emptyBytes;
  for (const s of empty) {
    if (left <= bound / 2) break;
    chosen.push(s);
    left -= bytesOf(s);
  }
  return chosen;
}
