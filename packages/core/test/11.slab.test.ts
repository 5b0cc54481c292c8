import { Slab, SlabClass, type SlabOwner } from '@riopool/core';

const owner: SlabOwner = { releaseSlot: () => {} };

test('a fresh slab hands out its slots in address order, all free', () => {
  const cls = new SlabClass({ index: 0, slotSize: 512, slabBytes: 4096, slotsPerSlab: 8 }, false);
  const slab = new Slab(owner, 0, cls, new ArrayBuffer(4096), 7);
  expect(slab.slots.every((entry) => entry <= 0)).toBe(true);
  expect(slab.view.length).toBe(4096);
  expect(slab.state).toBe('active');
  expect([0, 1, 2, 3, 4, 5, 6, 7].map((i) => slab.takeSlot(100 + i))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  expect(slab.freeHead).toBe(-1);
  expect(slab.leased).toBe(8);
  expect([...slab.slots]).toEqual([100, 101, 102, 103, 104, 105, 106, 107]);
});

test('freed slots come back last-in first-out, and their entries read as free', () => {
  const cls = new SlabClass({ index: 0, slotSize: 512, slabBytes: 4096, slotsPerSlab: 8 }, false);
  const slab = new Slab(owner, 0, cls, new ArrayBuffer(4096), 7);
  for (let i = 0; i < 8; i++) slab.takeSlot(1);
  slab.freeSlot(5);
  slab.freeSlot(2);
  expect(slab.leased).toBe(6);
  expect(slab.slots[5]! <= 0 && slab.slots[2]! <= 0).toBe(true);
  expect(slab.takeSlot(9)).toBe(2);
  expect(slab.takeSlot(9)).toBe(5);
  expect(slab.freeHead).toBe(-1);
});

test('the available stack: push, O(1) removal from the middle keeps indexes right', () => {
  const cls = new SlabClass({ index: 0, slotSize: 512, slabBytes: 4096, slotsPerSlab: 8 }, false);
  const slabs = [0, 1, 2, 3].map((i) => new Slab(owner, i, cls, new ArrayBuffer(4096), i));
  slabs.forEach((s) => cls.pushAvailable(s));
  cls.removeAvailable(slabs[1]!);
  expect(cls.available.map((s) => s.id)).toEqual([0, 3, 2]);
  cls.available.forEach((s, i) => expect(s.availIndex).toBe(i));
  expect(slabs[1]!.availIndex).toBe(-1);
  cls.removeAvailable(slabs[2]!); // the top
  expect(cls.available.map((s) => s.id)).toEqual([0, 3]);
});

test('bytesOf reuses a slot view while the length repeats, and makes a new one when it changes', () => {
  const cls = new SlabClass({ index: 0, slotSize: 512, slabBytes: 4096, slotsPerSlab: 8 }, false);
  const slab = new Slab(owner, 0, cls, new ArrayBuffer(4096), 7);
  const a = slab.bytesOf(3, 100);
  expect([a.byteOffset, a.length]).toEqual([1536, 100]);
  expect(slab.bytesOf(3, 100)).toBe(a);
  const b = slab.bytesOf(3, 200);
  expect(b).not.toBe(a);
  expect([b.byteOffset, b.length]).toEqual([1536, 200]);
  expect(slab.bytesOf(3, 200)).toBe(b);
  expect(slab.bytesOf(4, 200)).not.toBe(b);
});
