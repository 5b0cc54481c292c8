/**
 * Decay and the bound on empty bytes: empty slabs go with time, in every class, whatever traffic
 * their class sees; a burst does not keep what it mapped.
 */
import { MemoryRegistrar, Allocator, checkInvariants } from '@riopool/core';

const PAGE = 4096;

function setup(options = {}) {
  const registrar = new MemoryRegistrar({ pageSize: PAGE });
  return { registrar, pool: new Allocator(registrar, options) };
}

test('an empty slab goes at the second tick after it emptied, not the first', () => {
  const { pool, registrar } = setup();
  pool.acquire(512).release(); // one slab, empty, kept by the band
  expect(registrar.liveRegistrations).toBe(1);
  expect(pool.decay()).toBe(0);
  expect(registrar.liveRegistrations).toBe(1);
  expect(pool.decay()).toBe(1);
  expect(registrar.liveRegistrations).toBe(0);
  checkInvariants(pool);
});

test('a slab in use is never decayed, and one used again starts over', () => {
  const { pool } = setup();
  const a = pool.acquire(512);
  pool.decay();
  pool.decay();
  expect(pool.stats().totals.slabs).toBe(1);
  a.release();
  pool.decay();
  const b = pool.acquire(512); // the same slab, in use again
  b.release();
  pool.decay();
  expect(pool.stats().totals.slabs).toBe(1); // emptied again after the last tick
  pool.decay();
  expect(pool.stats().totals.slabs).toBe(0);
});

test('large, rare sizes: their slabs and their classes go', () => {
  const { pool, registrar } = setup();
  for (const n of [10_000, 20_000, 300_000, 5 << 20]) pool.acquire(n).release();
  expect(pool.dedicated.size).toBe(4);
  pool.decay();
  pool.decay();
  expect(registrar.liveMappings).toBe(0);
  expect(pool.dedicated.size).toBe(0);
  checkInvariants(pool);
  expect(pool.acquire(10_000).rioBuf.length).toBe(10_000); // and come back when asked
});

test('a burst beyond the bound on empty bytes is kept until the next decay tick, then retired down to half the bound', () => {
  const { pool, registrar } = setup({ emptyBytesMax: 256 * 1024, emptySlabsMax: 1 << 20 });
  const leases = Array.from({ length: 64 }, () => pool.acquire(64 * 1024)); // 4 MiB of dedicated slabs
  for (const l of leases) l.release();
  expect(pool.stats().totals.emptyBytes).toBe(4 << 20); // a load that swings within a tick keeps its slabs
  expect(pool.decay()).toBeGreaterThan(0);
  const s = pool.stats().totals;
  expect(s.emptyBytes).toBeLessThanOrEqual(128 * 1024);
  expect(s.boundRetirements).toBeGreaterThan(0);
  expect(s.decayed).toBe(0); // they were not empty a whole tick: the bound retired them
  expect(registrar.liveMappings * 64 * 1024).toBe(s.mappedBytes);
  checkInvariants(pool);
});

test('one empty slab larger than half the bound goes alone, not the smaller ones before it', () => {
  const { pool, registrar } = setup({ emptyBytesMax: 4 << 20 });
  const small = [pool.acquire(1 << 20), pool.acquire(1 << 20)];
  for (const l of small) l.release(); // two empty 1 MiB slabs, within the bound
  const registers = registrar.counts.registers;
  pool.acquire(10 << 20).release(); // a 10 MiB slab empties: over the bound
  const s = pool.stats().totals;
  expect(s.emptyBytes).toBe(2 << 20);
  expect(s.boundRetirements).toBe(1);
  for (const l of [pool.acquire(1 << 20), pool.acquire(1 << 20)]) l.release(); // reused, not registered again
  expect(registrar.counts.registers).toBe(registers + 1);
  checkInvariants(pool);
});

test('a load that swings within a tick keeps its slabs (no register/deregister churn)', () => {
  const { pool, registrar } = setup();
  for (let round = 0; round < 50; round++) {
    const leases = Array.from({ length: 300 }, () => pool.acquire(512)); // 3 slabs of 128 slots
    for (const l of leases) l.release();
  }
  expect(registrar.counts.registers).toBe(3);
  expect(pool.stats().totals.churn).toBe(0);
});
