import {
  MAX_GENERATION,
  MAX_SLABS,
  MAX_SLOTS_PER_SLAB,
  MemoryRegistrar,
  Allocator,
  checkInvariants,
  generationOf,
  handleOf,
  lowOf,
  slabIdOf,
  slotOf,
} from '@riopool/core';

test('a handle round-trips every slab id, slot and generation, and stays a safe integer', () => {
  for (const id of [0, 1, 77, MAX_SLABS - 1]) {
    for (const slot of [0, 1, 255, MAX_SLOTS_PER_SLAB - 1]) {
      for (const gen of [1, 2, 0x1234, MAX_GENERATION]) {
        const h = handleOf(id, slot, gen);
        expect(Number.isSafeInteger(h)).toBe(true);
        expect(h).toBeGreaterThanOrEqual(2 ** 31); // no handle is a small integer
        const low = lowOf(h);
        expect(slabIdOf(low)).toBe(id);
        expect(slotOf(low)).toBe(slot);
        expect(generationOf(h, low)).toBe(gen);
      }
    }
  }
});

test('values that are no handle decode to no generation in 1 .. MAX_GENERATION', () => {
  const isGeneration = (g: number) => Number.isInteger(g) && g >= 1 && g <= MAX_GENERATION;
  for (const v of [0, 1, 2 ** 31 - 1, -1, -(2 ** 31), 1.5, 2 ** 31 + 0.5, NaN, Infinity, -Infinity, 2 ** 53, 2 ** 60]) {
    expect(isGeneration(generationOf(v, lowOf(v)))).toBe(false);
  }
});

test('low-level handles are integers from 2^20 to 2^31 - 1; the table grows past its first 64 entries and reuses them', () => {
  const pool = new Allocator(new MemoryRegistrar(), {});
  const out = { bufferId: 0, offset: 0, length: 0 };
  const first = Array.from({ length: 200 }, () => pool.acquireInto(64, out));
  for (const h of first) {
    expect(Number.isInteger(h) && h >= 2 ** 20 && h < 2 ** 31).toBe(true);
    expect(h | 0).toBe(h); // an int32: V8 keeps it a small integer
  }
  expect(new Set(first).size).toBe(200);
  for (const h of first) pool.releaseHandle(h);
  const again = Array.from({ length: 200 }, () => pool.acquireInto(64, out));
  for (const h of first) expect(() => pool.releaseHandle(h)).toThrow(expect.objectContaining({ code: 'ERR_RIO_RELEASED' }));
  expect(pool.leased).toBe(200);
  for (const h of again) pool.releaseHandle(h);
  expect(pool.leased).toBe(0);
  checkInvariants(pool);
});
