import { MAX_SLABS, MAX_SLOTS_PER_SLAB, handleOf, slabIdOf, slotOf } from '@riopool/core';

test('a handle round-trips every slab id and slot, and stays a small non-negative integer', () => {
  for (const id of [0, 1, 77, MAX_SLABS - 1]) {
    for (const slot of [0, 1, 255, MAX_SLOTS_PER_SLAB - 1]) {
      const h = handleOf(id, slot);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h | 0).toBe(h);
      expect(slabIdOf(h)).toBe(id);
      expect(slotOf(h)).toBe(slot);
    }
  }
});

test('values that are not int32 name no slab; negative ones name none below MAX_SLABS', () => {
  for (const v of [1.5, NaN, Infinity, 2 ** 31, '5', null, undefined, {}, 5n]) expect(slabIdOf(v)).toBe(-1);
  for (const v of [-1, -(2 ** 31)]) expect(slabIdOf(v)).toBeGreaterThanOrEqual(MAX_SLABS);
});
