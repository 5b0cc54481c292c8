/** Slices: leases over part of a lease, each holding one reference on it. */
import { withCode as code } from '../../../test/support';
import { MemoryRegistrar, Allocator, checkInvariants } from '@riopool/core';

function pool() {
  return new Allocator(new MemoryRegistrar({ pageSize: 4096 }));
}

test("a slice's RioBuf and bytes are its range of the parent's, over the same memory", () => {
  const p = pool();
  const parent = p.acquire(1000);
  parent.bytes.set([1, 2, 3, 4, 5], 100);
  const s = parent.slice(100, 105);
  expect(s.length).toBe(5);
  expect(s.rioBuf).toEqual({ bufferId: parent.rioBuf.bufferId, offset: parent.rioBuf.offset + 100, length: 5 });
  expect([...s.bytes]).toEqual([1, 2, 3, 4, 5]);
  s.bytes[0] = 9;
  expect(parent.bytes[100]).toBe(9);
  expect(s.registered).toBe(true);
  // a slice of a slice counts from its own start
  const inner = s.slice(1, 3);
  expect(inner.rioBuf.offset).toBe(parent.rioBuf.offset + 101);
  expect([...inner.bytes]).toEqual([2, 3]);
  inner.release();
  s.release();
  parent.release();
  checkInvariants(p);
});

test('the slot goes back only when the parent and every slice of it are released', () => {
  const p = pool();
  const parent = p.acquire(64);
  const a = parent.slice(0, 10);
  const b = parent.slice(10);
  parent.release(); // the caller's own reference; each slice still holds one
  expect(parent.released).toBe(false);
  expect(p.leased).toBe(1);
  a.release();
  expect(p.leased).toBe(1);
  b.release();
  expect(parent.released).toBe(true);
  expect(p.leased).toBe(0);
  checkInvariants(p);
});

test.each([
  [-1, 5],
  [0, 0],
  [5, 5],
  [0, 65],
  [1.5, 3],
  [0, Number.NaN],
])('slice(%s, %s) of 64 bytes: ERR_RIO_INVALID_LENGTH and nothing held', (start, end) => {
  const p = pool();
  const parent = p.acquire(64);
  expect(() => parent.slice(start, end)).toThrow(code('ERR_RIO_INVALID_LENGTH'));
  parent.release();
  expect(p.leased).toBe(0);
});

test('a released lease cannot be sliced; a released slice cannot be used', () => {
  const p = pool();
  const parent = p.acquire(64);
  const s = parent.slice(0, 8);
  s.release();
  expect(() => s.bytes).toThrow(code('ERR_RIO_RELEASED'));
  expect(() => s.release()).toThrow(code('ERR_RIO_RELEASED'));
  parent.release();
  expect(() => parent.slice()).toThrow(code('ERR_RIO_RELEASED'));
  expect(p.leased).toBe(0);
});
