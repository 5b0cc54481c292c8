import { MemoryRegistrar, Allocator } from '@riopool/core';

const pool = () => new Allocator(new MemoryRegistrar({ pageSize: 4096 }), {});

test('an option with no upper bound says "at least", not "to Infinity"', () => {
  expect(() => new Allocator(new MemoryRegistrar({ pageSize: 4096 }), { maxRegisteredBytes: -1 })).toThrow(
    'createPool: maxRegisteredBytes: -1 must be an integer of at least 0',
  );
  expect(() => new Allocator(new MemoryRegistrar({ pageSize: 4096 }), { slabBytes: 1 })).toThrow(
    /^createPool: slabBytes: 1 must be an integer (from|of at least) 4096/,
  );
  try {
    new Allocator(new MemoryRegistrar({ pageSize: 4096 }), { slabBytes: 1 });
  } catch (e) {
    expect(String((e as Error).message)).not.toContain('Infinity');
  }
});

test('the errors of the shared acquire path name no call the user did not make', () => {
  const p = pool();
  const out = { bufferId: 0, offset: 0, length: 0 };
  expect(() => p.acquireInto(0, out)).toThrow(/^length must be an integer from 1 to \d+, got 0$/);
  expect(() => p.acquire(-1)).toThrow(/^length must be/);
  void p.close();
  expect(() => p.acquireInto(1, out)).toThrow(/^the pool is closed$/);
});
