import { SizeClassTable, classSizeFor, slabBytesFor, GRANULE, MIN_SLOTS_PER_SLAB } from '@riopool/core';

const PAGES = [4096, 16384, 65536];

describe.each(PAGES)('size classes with %i-byte pages', (page) => {
  const table = new SizeClassTable({ pageSize: page });

  test('the lookup table equals the formula for every length up to the largest class', () => {
    for (let n = 1; n <= table.largestClass; n++) {
      const c = table.classFor(n);
      expect(c.slotSize).toBe(classSizeFor(n, page));
    }
  });

  test('classes strictly increase, are multiples of 16, and the largest is one page', () => {
    const sizes = table.classes.map((c) => c.slotSize);
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]!).toBeGreaterThan(sizes[i - 1]!);
    for (const s of sizes) expect(s % GRANULE).toBe(0);
    expect(table.largestClass).toBe(page);
    expect(sizes[sizes.length - 1]).toBe(page);
  });

  test('rounding waste: < 16 bytes below 128, at most 12.5% of the slot from 128 to the largest class', () => {
    for (let n = 1; n <= table.largestClass; n++) {
      const slot = classSizeFor(n, page);
      expect(slot).toBeGreaterThanOrEqual(n);
      if (n < 128) expect(slot - n).toBeLessThan(GRANULE);
      else expect((slot - n) / slot).toBeLessThanOrEqual(0.125);
    }
  });

  test('at least 8 classes per doubling from 128 bytes up', () => {
    for (let lo = 128; lo * 2 <= table.largestClass; lo *= 2) {
      const inDoubling = table.classes.filter((c) => c.slotSize > lo && c.slotSize <= lo * 2);
      expect(inDoubling.length).toBeGreaterThanOrEqual(8);
    }
  });

  test('slabs are whole pages with at least 8 slots and an unusable tail of at most 1/8', () => {
    for (const c of table.classes) {
      expect(c.slabBytes % page).toBe(0);
      expect(c.slotsPerSlab).toBeGreaterThanOrEqual(MIN_SLOTS_PER_SLAB);
      expect(c.slotsPerSlab).toBe(Math.floor(c.slabBytes / c.slotSize));
      const tail = c.slabBytes - c.slotsPerSlab * c.slotSize;
      expect(tail * 8).toBeLessThanOrEqual(c.slabBytes);
    }
  });

  test('a slot of a page or more is whole pages, so it starts on a page boundary', () => {
    for (const c of table.classes.filter((k) => k.slotSize >= page)) {
      expect(c.slotSize % page).toBe(0);
    }
  });

  test('requests above the largest class get dedicated, page-rounded slabs', () => {
    expect(table.dedicatedBytes(page + 1)).toBe(2 * page);
    expect(table.dedicatedBytes(10 * page)).toBe(10 * page);
  });
});

describe('a raised largest class', () => {
  const page = 4096;
  const table = new SizeClassTable({ pageSize: page, largestClass: 65536 });

  test('slots of a page or more stay whole pages; the 12.5% bound holds again from 8 pages', () => {
    for (let n = page + 1; n <= table.largestClass; n++) {
      const slot = table.classFor(n).slotSize;
      expect(slot).toBe(classSizeFor(n, page));
      expect(slot % page).toBe(0);
      // Between 1 and 8 pages the page rule costs less than one page per slot.
      expect(slot - n).toBeLessThan(page);
      if (n > 8 * page) expect((slot - n) / slot).toBeLessThanOrEqual(0.125);
    }
  });
});

test('slab size: the target, or 8 slots, rounded up to pages, capped at 65,536 slots', () => {
  expect(slabBytesFor(512, 4096, 65536)).toBe(65536);
  expect(slabBytesFor(16384, 4096, 65536)).toBe(131072);
  expect(slabBytesFor(48, 4096, 5000)).toBe(8192);
  expect(slabBytesFor(16, 4096, 1 << 30) / 16).toBe(65536);
});
