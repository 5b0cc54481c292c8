/**
 * The registration budget: past maxRegisteredBytes, or when the registrar refuses, new slabs are
 * overflow slabs (mapped, not registered) and acquire goes on; only maxBytes makes it throw.
 */
import { withCode as code } from '../../../test/support';
import { MemoryRegistrar, Allocator, checkInvariants, type OverflowEvent } from '@riopool/core';

const PAGE = 4096;

test('past maxRegisteredBytes, leases come from overflow slabs, said once', () => {
  const registrar = new MemoryRegistrar({ pageSize: PAGE });
  const p = new Allocator(registrar, { maxRegisteredBytes: 128 * 1024 });
  const events: OverflowEvent[] = [];
  p.onOverflow = (e) => events.push(e);
  const leases = Array.from({ length: 3 * 16 }, () => p.acquire(4096)); // three 64 KiB slabs
  expect(registrar.liveRegistrations).toBe(2);
  expect(leases.filter((l) => l.registered)).toHaveLength(32);
  const over = leases.filter((l) => !l.registered);
  expect(over).toHaveLength(16);
  expect(over[0]!.rioBuf.bufferId).toBeLessThan(0);
  // the low-level view finds an overflow slab by its negative id
  over[0]!.bytes[0] = 42;
  expect(p.view(over[0]!.rioBuf.bufferId)[over[0]!.rioBuf.offset]).toBe(42);
  expect(events).toEqual([{ registeredBytes: 128 * 1024, budget: 128 * 1024, cause: undefined }]);
  const s = p.stats().totals;
  expect(s).toMatchObject({ registrations: 2, overflowSlabs: 1, registeredBytes: 131072, unregisteredBytes: 65536, lockedBytes: 0 });
  checkInvariants(p);
  for (const l of leases) l.release();
  p.trim();
  expect(registrar.liveMappings).toBe(0);
  checkInvariants(p);
});

test('a refusal of the OS (the lock limit) lowers the budget to what it took; nothing throws', () => {
  const registrar = new MemoryRegistrar({ pageSize: PAGE, lockLimitBytes: 64 * 1024 });
  const p = new Allocator(registrar);
  const events: OverflowEvent[] = [];
  p.onOverflow = (e) => events.push(e);
  const leases = Array.from({ length: 40 }, () => p.acquire(4096));
  expect(events).toHaveLength(1);
  expect(events[0]!.cause).toEqual(code('ERR_RIO_MEMLOCK'));
  expect(p.stats().totals.registeredBudget).toBe(65536);
  expect(registrar.counts.registers).toBe(1); // it does not ask again past the budget it learned
  for (const l of leases) l.release();
  checkInvariants(p);
});

test('a full registration table is an overflow slab too', () => {
  const registrar = new MemoryRegistrar({ pageSize: PAGE, capacity: 1 });
  const p = new Allocator(registrar);
  p.acquire(512);
  const big = p.acquire(4096);
  expect(big.registered).toBe(false);
  expect(registrar.liveMappings).toBe(2);
  checkInvariants(p);
});

test('with overflow off, the budget and a refusal throw ERR_RIO_MEMLOCK / the refusal, and change nothing', () => {
  const p = new Allocator(new MemoryRegistrar({ pageSize: PAGE }), { maxRegisteredBytes: 64 * 1024, overflow: false });
  const leases = Array.from({ length: 16 }, () => p.acquire(4096));
  expect(() => p.acquire(4096)).toThrow(code('ERR_RIO_MEMLOCK'));
  checkInvariants(p);
  for (const l of leases) l.release();
});

test('only maxBytes makes acquire throw', () => {
  const p = new Allocator(new MemoryRegistrar({ pageSize: PAGE }), { maxRegisteredBytes: 0, maxBytes: 128 * 1024 });
  const leases = Array.from({ length: 32 }, () => p.acquire(4096));
  expect(leases.every((l) => !l.registered)).toBe(true);
  expect(() => p.acquire(4096)).toThrow(code('ERR_RIO_POOL_EXHAUSTED'));
  for (const l of leases) l.release();
  checkInvariants(p);
});
