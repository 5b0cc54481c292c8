import { Slab, SlabClass, isRioError, Lease, LeaseOfSlot, TrackedLeaseOfSlot, type SlabOwner } from '@riopool/core';

/** A lease of slot `slot` whose owner records each release it hears: ['slot', slot] or ['tracked', slot, lease]. */
function lease(length: number, slot = 2, tracked = false) {
  const released: unknown[][] = [];
  const cls = new SlabClass({ index: 0, slotSize: 512, slabBytes: 4096, slotsPerSlab: 8 }, false);
  const owner: SlabOwner = {
    releaseSlot: (_s, i) => released.push(['slot', i]),
    releaseTracked: (_s, i, l) => released.push(['tracked', i, l]),
    sliced: () => {},
    releaseSlice: (_slice, parent) => parent.release(),
  };
  const slab = new Slab(owner, 0, cls, new ArrayBuffer(4096), 9);
  return { l: new (tracked ? TrackedLeaseOfSlot : LeaseOfSlot)(slab, slot, length), released, slab };
}

test('rioBuf is the frozen RIO_BUF triple of its slot; bytes is exactly length bytes there', () => {
  const { l, slab } = lease(300);
  expect(l.rioBuf).toEqual({ bufferId: 9, offset: 1024, length: 300 });
  expect(Object.isFrozen(l.rioBuf)).toBe(true);
  expect(l.rioBuf).toBe(l.rioBuf); // made once
  expect(l.bytes.byteOffset).toBe(1024);
  expect(l.bytes.length).toBe(300);
  expect(l.bytes.buffer).toBe(slab.buffer);
});

test('the owner hears of the last release only, once', () => {
  const { l, released } = lease(64);
  l.retain();
  l.release();
  expect(released).toHaveLength(0);
  l.release();
  expect(released).toEqual([['slot', 2]]);
  let err: unknown;
  try {
    l.release();
  } catch (e) {
    err = e;
  }
  expect(isRioError(err, 'ERR_RIO_RELEASED')).toBe(true);
  expect(released).toHaveLength(1);
});

test("a tracked pool's lease is a Lease whose last release (only) goes through releaseTracked, with the lease", () => {
  const { l, released } = lease(64, 5, true);
  expect(l).toBeInstanceOf(Lease);
  l.retain();
  l.release();
  expect(released).toHaveLength(0);
  const s = l.slice(0, 8);
  l.release(); // the slice still holds the slot
  expect(released).toHaveLength(0);
  s.release();
  expect(released).toEqual([['tracked', 5, l]]);
  expect(() => l.release()).toThrow(expect.objectContaining({ code: 'ERR_RIO_RELEASED' }));
  expect(released).toHaveLength(1);
});
