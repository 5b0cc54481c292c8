import fc from 'fast-check';
import { emptiestFirst, emptySince, overBound, slabsToRetire, type ClassLoad, type EmptySlab } from '@riopool/core';
import { propertyParams } from '../../../test/support';

const load = (slabs: number, emptySlabs: number, windowPeak: number, lastWindowPeak = 0): ClassLoad => ({
  slabs,
  emptySlabs,
  slotsPerSlab: 8,
  windowPeak,
  lastWindowPeak,
});

// kept = 1, max = 4: keep what the recent peak needs plus one empty slab (the target); act
// only when the class holds more than the target plus a band of 3. Expected values by hand.
test.each([
  // slabs, empty, windowPeak, lastWindowPeak, retire
  [4, 4, 0, 0, 0], // 4 <= 1 + 3: inside the band
  [5, 5, 0, 0, 4], // 5 > 4: down to the target, one empty slab
  [10, 6, 32, 0, 5], // 4 slabs hold leases: keep those and one empty
  [10, 10, 64, 0, 0], // the recent peak needs 8 slabs: target 9, 10 <= 12
  [13, 13, 64, 0, 4], // 13 > 12: down to 9
  [13, 13, 0, 64, 4], // the last window's peak counts as much as this one's
  [13, 13, 64, 65, 0], // the larger peak decides: 65 slots need 9 slabs, target 10, 13 <= 13
  [14, 14, 64, 65, 4],
])('slabs %i, empty %i, peaks %i/%i: retire %i', (slabs, empty, peak, lastPeak, retire) => {
  expect(slabsToRetire(load(slabs, empty, peak, lastPeak), 1, 4)).toBe(retire);
});

test('kept = max: no band, retire down to the target at once', () => {
  expect(slabsToRetire(load(3, 3, 0), 2, 2)).toBe(1);
  expect(slabsToRetire(load(2, 2, 0), 2, 2)).toBe(0);
});

test('never more than the empty slabs', () => {
  for (let slabs = 0; slabs < 40; slabs++) {
    for (let empty = 0; empty <= slabs; empty++) {
      const n = slabsToRetire(load(slabs, empty, 0), 0, 0);
      expect(n).toBeGreaterThanOrEqual(0);
      expect(n).toBeLessThanOrEqual(empty);
    }
  }
});

// The choice of slabs (decay and the band): which empty slabs go, as pure functions.
const slab = (name: string, leased: number, emptySince: number, bufferId: number) => ({ name, leased, emptySince, bufferId });
const names = (slabs: { name: string }[]) => slabs.map((s) => s.name);

test('emptiestFirst: overflow slabs first, then the longest empty; leased slabs never', () => {
  const slabs = [slab('a', 0, 5, 1), slab('b', 2, 0, 2), slab('c', 0, 3, 3), slab('d', 0, 9, -4), slab('e', 0, 1, 5)];
  expect(names(emptiestFirst(slabs, 2))).toEqual(['d', 'e']);
  expect(names(emptiestFirst(slabs, 10))).toEqual(['d', 'e', 'c', 'a']);
  expect(emptiestFirst(slabs, 0)).toEqual([]);
});

test('emptySince: the empty slabs that have been empty since before the tick', () => {
  const slabs = [slab('a', 0, 4, 1), slab('b', 0, 5, 2), slab('c', 1, 0, 3), slab('d', 0, 0, -1)];
  expect(names(emptySince(slabs, 5))).toEqual(['a', 'd']);
  expect(emptySince(slabs, 0)).toEqual([]);
});

test('overBound: the longest empty first (then by buffer id), down to half the bound', () => {
  const slabs = [slab('a', 0, 2, 7), undefined, slab('b', 0, 1, 9), slab('c', 3, 0, 1), slab('d', 0, 1, 4)];
  // 3 empty slabs of 10 bytes: 30 empty, bound 24 -> down to 12: two go (d and b: empty since tick 1, d's id lower).
  expect(names(overBound(slabs, 30, 24, () => 10))).toEqual(['d', 'b']);
  expect(overBound(slabs, 12, 24, () => 10)).toEqual([]);
});

test('any slabs: each choice is of empty slabs only, without repeats, and as many as asked or empty', () => {
  const arbSlab = fc.record({
    name: fc.string(),
    leased: fc.nat({ max: 3 }),
    emptySince: fc.nat({ max: 20 }),
    bufferId: fc.integer({ min: -50, max: 50 }),
  });
  fc.assert(
    fc.property(fc.array(arbSlab, { maxLength: 30 }), fc.nat({ max: 40 }), fc.nat({ max: 25 }), (slabs, count, tick) => {
      const empty = slabs.filter((s) => s.leased === 0);
      const chosen = emptiestFirst(slabs, count);
      expect(chosen).toHaveLength(Math.min(count, empty.length));
      expect(new Set(chosen).size).toBe(chosen.length);
      expect(chosen.every((s: EmptySlab) => s.leased === 0)).toBe(true);
      // every overflow slab chosen before any registered one is left out
      if (chosen.some((s) => s.bufferId >= 0)) expect(empty.filter((s) => s.bufferId < 0).every((s) => chosen.includes(s))).toBe(true);
      const old = emptySince(slabs, tick);
      expect(old).toEqual(empty.filter((s) => s.emptySince < tick));
      const bound = overBound(slabs, empty.length * 8, 16, () => 8);
      expect(bound).toHaveLength(Math.max(0, empty.length - 1));
    }),
    propertyParams('retirement choices', 300),
  );
});
