import { Slab, SlabClass, type LeaseOwner } from '@riopool/core';

const owner: LeaseOwner = { releaseLease: () => {} };

test('a fresh slab hands out its slots in address order, all free', () => {
  const cls = new SlabClass(0, 512, 4096, 8, false);
  const slab = new Slab(owner, 0, cls, new ArrayBuffer(4096), 7);
  expect(slab.freeTop).toBe(8);
  expect(slab.free[slab.freeTop - 1]).toBe(0);
  expect(slab.free[0]).toBe(7);
  expect(slab.lengths.every((n) => n === 0)).toBe(true);
  expect(slab.view.length).toBe(4096);
  expect(slab.state).toBe('active');
});

test('the available stack: push, O(1) removal from the middle keeps indexes right', () => {
  const cls = new SlabClass(0, 512, 4096, 8, false);
  const slabs = [0, 1, 2, 3].map((i) => new Slab(owner, i, cls, new ArrayBuffer(4096), i));
  slabs.forEach((s) => cls.pushAvailable(s));
  cls.removeAvailable(slabs[1]!);
  expect(cls.available.map((s) => s.id)).toEqual([0, 3, 2]);
  cls.available.forEach((s, i) => expect(s.availIndex).toBe(i));
  expect(slabs[1]!.availIndex).toBe(-1);
  cls.removeAvailable(slabs[2]!); // the top
  expect(cls.available.map((s) => s.id)).toEqual([0, 3]);
});
