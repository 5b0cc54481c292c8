import { modelPerBuffer, modelSlabs, nextPackedOffset, SizeClassTable } from '@riopool/core';

const PAGE = 4096;

describe('modelPerBuffer', () => {
  test("RIORegisterBuffer's warning: 1,000 × 512 B, one page pinned per registration on uring", () => {
    const m = modelPerBuffer(new Array(1000).fill(512), PAGE, 'per-registration');
    expect(m).toEqual({
      registrations: 1000,
      requestedBytes: 512000,
      reservedBytes: 512000,
      mappedBytes: 512000,
      heldBytes: 1000 * PAGE,
    });
  });

  test('mlock counts each page once, however many registrations share it', () => {
    expect(modelPerBuffer(new Array(1000).fill(512), PAGE, 'per-page').heldBytes).toBe(125 * PAGE);
  });

  test('a buffer that straddles a page boundary pins both pages', () => {
    // 4000 B then 200 B: the second spans bytes 4000 .. 4199, pages 0 and 1.
    expect(modelPerBuffer([4000, 200], PAGE, 'per-registration').heldBytes).toBe(3 * PAGE);
  });

  test('none locks nothing; buffers are packed 16-byte aligned', () => {
    expect(modelPerBuffer([1, 1, 1], PAGE, 'none')).toMatchObject({ heldBytes: 0, reservedBytes: 48 });
    expect(nextPackedOffset(0, 1)).toBe(16);
    expect(nextPackedOffset(16, 16)).toBe(32);
  });
});

describe('modelSlabs', () => {
  const table = new SizeClassTable({ pageSize: PAGE });

  test('10,000 × 512 B: 79 slabs of 64 KiB', () => {
    const m = modelSlabs(new Array(10000).fill(512), table, 'per-registration');
    expect(m).toEqual({
      registrations: 79,
      requestedBytes: 5120000,
      reservedBytes: 5120000,
      mappedBytes: 79 * 65536,
      heldBytes: 79 * 65536,
    });
  });

  test('requests above the largest class take dedicated page-rounded slabs', () => {
    const m = modelSlabs([PAGE + 1, 3 * PAGE], table, 'per-page');
    expect(m).toMatchObject({ registrations: 2, reservedBytes: 5 * PAGE, mappedBytes: 5 * PAGE, heldBytes: 5 * PAGE });
  });

  test('classes round requests up', () => {
    expect(modelSlabs([100, 500], table, 'none')).toMatchObject({
      requestedBytes: 600,
      reservedBytes: 112 + 512,
      registrations: 2,
      heldBytes: 0,
    });
  });
});
