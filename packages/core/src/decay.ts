/**
 * Decay: one tick of the pool's clock retires what stayed empty. Which slabs is retirement.ts's
 * (pure functions); this is the allocator's side of a tick: the retiring and its counters.
 *
 *   tick    every slab empty since before the previous tick goes, in every class, whatever
 *           traffic its class sees: an empty slab goes after one to two ticks (emptySince)
 *   bound   over the pool's bound on empty bytes, the longest empty go, down to half of it
 *           (overBound); a slab alone over half the bound went when it emptied (allocator.ts,
 *           tooManyEmpty), since keeping it would push out every smaller slab a steady load reuses
 *
 * Not at every release: there each class's band keeps a load that swings around a slab boundary
 * from registering and deregistering on every call (retirement.ts, bench/churn.ts).
 */
import { emptySince, overBound } from './retirement';
import type { SlabClass } from './slab';
import { retire, type SlabLifeState } from './slab-life';

/** What a tick reads and changes of the allocator. */
export interface DecayState extends SlabLifeState {
  readonly closing: boolean;
  ticks: number;
  /** Slabs retired by ticks, and by the bound on empty bytes. */
  decayed: number;
  boundRetirements: number;
  readonly emptyBytes: number;
  readonly emptyBytesMax: number;
  allClasses(): Iterable<SlabClass>;
}

/** One tick; returns how many slabs went. Pre: the allocator is not closed. */
export function decayTick(a: DecayState): number {
  const before = a.ticks++;
  let retired = 0;
  for (const cls of a.allClasses()) {
    if (cls.emptySlabs === 0) continue;
    const gone = emptySince(cls.available, before);
    for (const slab of gone) retire(a, slab);
    retired += gone.length;
  }
  a.decayed += retired;
  if (a.emptyBytes > a.emptyBytesMax && !a.closing) {
    for (const slab of overBound(a.slabs, a.emptyBytes, a.emptyBytesMax, (s) => s.cls.slabBytes)) {
      retire(a, slab);
      a.boundRetirements++;
      retired++;
    }
  }
  return retired;
}
