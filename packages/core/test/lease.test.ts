import { Slab, SlabClass, isRioError, LeaseOfSlot, type Lease } from '@riopool/core';

function lease(length: number, slot = 2) {
  const released: Lease[] = [];
  const cls = new SlabClass({ index: 0, slotSize: 512, slabBytes: 4096, slotsPerSlab: 8 }, false);
  const slab = new Slab({ releaseSlot: (_s, _i, l) => released.push(l as Lease) }, 0, cls, new ArrayBuffer(4096), 9);
  return { l: new LeaseOfSlot(slab, slot, length), released, slab };
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
  expect(released).toEqual([l]);
  let err: unknown;
  try {
    l.release();
  } catch (e) {
    err = e;
  }
  expect(isRioError(err, 'ERR_RIO_RELEASED')).toBe(true);
  expect(released).toHaveLength(1);
});
