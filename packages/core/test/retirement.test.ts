import { slabsToRetire, type ClassLoad } from '@riopool/core';

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
