import { withCode as code } from '../../../test/support';
import { Allocator, MemoryRegistrar, WINDOW, checkInvariants, type RioBufOut } from '@riopool/core';

const PAGE = 4096;

function setup(options = {}) {
  const registrar = new MemoryRegistrar({ pageSize: PAGE });
  const pool = new Allocator(registrar, options);
  return { registrar, pool };
}

describe('acquire', () => {
  test('a 512-byte lease: RioBuf of the requested length, bytes over the same memory', () => {
    const { pool } = setup();
    const lease = pool.acquire(500);
    expect(lease.rioBuf).toEqual({ bufferId: expect.any(Number), offset: 0, length: 500 });
    expect(lease.bytes.length).toBe(500);
    lease.bytes.fill(7);
    expect(pool.view(lease.rioBuf.bufferId)[lease.rioBuf.offset + 499]).toBe(7);
    checkInvariants(pool);
  });

  test('one slab serves many leases of a class with one registration', () => {
    const { pool, registrar } = setup();
    const leases = Array.from({ length: 128 }, () => pool.acquire(512));
    expect(new Set(leases.map((l) => l.rioBuf.bufferId)).size).toBe(1);
    expect(registrar.liveRegistrations).toBe(1);
    expect(new Set(leases.map((l) => l.rioBuf.offset)).size).toBe(128);
    pool.acquire(512);
    expect(registrar.liveRegistrations).toBe(2);
    checkInvariants(pool);
  });

  test('small slots are 16-byte aligned; page-sized slots are page aligned', () => {
    const { pool } = setup();
    for (const n of [1, 17, 100, 333, 1000, 3000]) expect(pool.acquire(n).rioBuf.offset % 16).toBe(0);
    for (let i = 0; i < 10; i++) expect(pool.acquire(4096).rioBuf.offset % PAGE).toBe(0);
  });

  test('a request above the largest class gets a dedicated, page-rounded slab', () => {
    const { pool, registrar } = setup();
    const big = pool.acquire(3 * PAGE + 1);
    expect(big.rioBuf).toEqual({ bufferId: expect.any(Number), offset: 0, length: 3 * PAGE + 1 });
    expect(registrar.registeredLength(big.rioBuf.bufferId)).toBe(4 * PAGE);
    const stats = pool.stats();
    expect(stats.classes.find((c) => c.dedicated)).toMatchObject({ slotSize: 4 * PAGE, slabs: 1, leased: 1 });
    const bigId = big.rioBuf.bufferId;
    big.release();
    // The empty dedicated slab is kept in reserve and reused without a new registration.
    const again = pool.acquire(4 * PAGE);
    expect(again.rioBuf.bufferId).toBe(bigId);
    expect(pool.stats().totals.totalRegistrations).toBe(1);
  });

  test.each([
    ['zero', 0],
    ['negative', -1],
    ['NaN', NaN],
    ['fractional', 1.5],
    ['a string', '512'],
    ['huge', 2 ** 31],
    ['Infinity', Infinity],
    ['an object', {}],
    ['a bigint', 512n],
  ])('%s length: ERR_RIO_INVALID_LENGTH, and the pool goes on', (_name, bad) => {
    const { pool } = setup();
    expect(() => pool.acquire(bad as any)).toThrow(code('ERR_RIO_INVALID_LENGTH'));
    checkInvariants(pool);
    expect(pool.acquire(16).rioBuf.length).toBe(16);
  });
});

describe('leases and references', () => {
  test('retain keeps the slot until the last release', () => {
    const { pool } = setup();
    const lease = pool.acquire(64);
    lease.retain().retain();
    lease.release();
    lease.release();
    expect(pool.leased).toBe(1);
    lease.release();
    expect(pool.leased).toBe(0);
    expect(lease.released).toBe(true);
    checkInvariants(pool);
  });

  test('a released lease throws ERR_RIO_RELEASED on every use', () => {
    const { pool } = setup();
    const lease = pool.acquire(64);
    lease.release();
    expect(() => lease.release()).toThrow(code('ERR_RIO_RELEASED'));
    expect(() => lease.retain()).toThrow(code('ERR_RIO_RELEASED'));
    expect(() => lease.bytes).toThrow(code('ERR_RIO_RELEASED'));
    expect(() => lease.rioBuf).toThrow(code('ERR_RIO_RELEASED'));
  });

  test('a stale lease cannot release the slot its next owner holds', () => {
    const { pool } = setup();
    const first = pool.acquire(64);
    const offset = first.rioBuf.offset;
    first.release();
    const second = pool.acquire(64);
    expect(second.rioBuf.offset).toBe(offset); // same slot, new owner
    expect(() => first.release()).toThrow(code('ERR_RIO_RELEASED'));
    expect(second.released).toBe(false);
    expect(pool.leased).toBe(1);
    checkInvariants(pool);
  });
});

describe('the low-level path', () => {
  test('acquireInto writes the RioBuf into a reused object; releaseHandle returns the slot', () => {
    const { pool } = setup();
    const out: RioBufOut = { bufferId: -1, offset: -1, length: -1 };
    const h = pool.acquireInto(512, out);
    expect(out.length).toBe(512);
    pool.view(out.bufferId).fill(1, out.offset, out.offset + out.length);
    expect(pool.leased).toBe(1);
    pool.releaseHandle(h);
    expect(pool.leased).toBe(0);
    expect(() => pool.releaseHandle(h)).toThrow(code('ERR_RIO_RELEASED'));
    expect(() => pool.releaseHandle(-1)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
    expect(() => pool.releaseHandle(1.5)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
    expect(() => pool.releaseHandle('0' as any)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
    expect(() => pool.releaseHandle((999 << 16) | 0)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
    expect(() => pool.view(12345)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
    checkInvariants(pool);
  });
});

describe('retirement', () => {
  test('hysteresis: a workload swinging around a slab boundary never churns registrations', () => {
    const { pool, registrar } = setup();
    const held = Array.from({ length: 128 }, () => pool.acquire(512)); // one full slab
    for (let i = 0; i < 1000; i++) pool.acquire(512).release();
    expect(registrar.counts.registers).toBe(2);
    expect(pool.stats().totals.churn).toBe(0);
    held.forEach((l) => l.release());
    checkInvariants(pool);
  });

  test('stats count register/deregister cycles (churn)', () => {
    const { pool, registrar } = setup({ emptySlabsKept: 0, emptySlabsMax: 0 });
    const burst = () => Array.from({ length: 129 }, () => pool.acquire(512)).forEach((l) => l.release());
    burst(); // 2 slabs; the recent peak keeps both
    expect(registrar.liveRegistrations).toBe(2);
    for (let i = 0; i < 2 * WINDOW; i++) pool.acquire(512).release(); // the load drops for two windows
    expect(registrar.liveRegistrations).toBe(1);
    burst(); // the second slab comes back: one register/deregister cycle
    expect(registrar.counts.registers).toBe(3);
    expect(pool.stats().totals.churn).toBe(1);
    checkInvariants(pool);
  });

  test('after the load drops, empty slabs beyond the recent peak are retired a window or two later', () => {
    const { pool, registrar } = setup({ emptySlabsKept: 1, emptySlabsMax: 2 });
    const leases = Array.from({ length: 128 * 4 }, () => pool.acquire(512));
    expect(registrar.liveRegistrations).toBe(4);
    leases.forEach((l) => l.release());
    expect(registrar.liveRegistrations).toBe(4); // the recent peak still needs them
    for (let i = 0; i < 2 * WINDOW; i++) pool.acquire(512).release();
    // Recent peak 1 slot: 1 slab needed + 1 kept empty.
    expect(registrar.liveRegistrations).toBe(2);
    checkInvariants(pool);
  });

  test('a steady churn of one-slot dedicated slabs does not register on every call', () => {
    const { pool, registrar } = setup();
    const live = Array.from({ length: 50 }, (_, i) => pool.acquire(2 * PAGE + (i % 3) * PAGE));
    for (let i = 0; i < 20000; i++) {
      const at = (i * 7919) % live.length;
      live[at]!.release();
      live[at] = pool.acquire(2 * PAGE + (i % 3) * PAGE);
    }
    expect(registrar.counts.registers).toBeLessThan(70);
    expect(pool.stats().totals.churn).toBe(0);
    live.forEach((l) => l.release());
    checkInvariants(pool);
  });

  test('trim retires every empty slab, never one with a lease', () => {
    const { pool, registrar } = setup();
    const keep = pool.acquire(512);
    const others = Array.from({ length: 300 }, () => pool.acquire(512));
    others.forEach((l) => l.release());
    expect(pool.trim()).toBeGreaterThan(0);
    expect(registrar.liveRegistrations).toBe(1);
    expect(registrar.isRegistered(keep.rioBuf.bufferId)).toBe(true);
    expect(pool.stats().totals.trims).toBe(1);
    checkInvariants(pool);
  });

  test('a retired slab detaches its views', () => {
    const { pool } = setup();
    const lease = pool.acquire(512);
    const bytes = lease.bytes;
    lease.release();
    pool.trim();
    expect(bytes.length).toBe(0);
  });
});

describe('limits', () => {
  test('maxBytes: ERR_RIO_POOL_EXHAUSTED, and the pool goes on', () => {
    const { pool } = setup({ maxBytes: 65536 });
    const leases = Array.from({ length: 128 }, () => pool.acquire(512));
    expect(() => pool.acquire(512)).toThrow(code('ERR_RIO_POOL_EXHAUSTED'));
    leases[0]!.release();
    expect(pool.acquire(512).rioBuf.length).toBe(512);
    checkInvariants(pool);
  });

  test('with overflow off, a registrar failure leaves nothing mapped and the pool usable', () => {
    const registrar = new MemoryRegistrar({ pageSize: PAGE, capacity: 1 });
    const pool = new Allocator(registrar, { overflow: false });
    pool.acquire(512);
    expect(() => pool.acquire(4096)).toThrow(code('ERR_RIO_TOO_MANY_REGISTRATIONS'));
    expect(registrar.liveMappings).toBe(1);
    expect(pool.acquire(512).rioBuf.length).toBe(512);
    checkInvariants(pool);
  });

  test.each([
    ['slabBytes', { slabBytes: 100 }],
    ['largestClass', { largestClass: 0 }],
    ['emptySlabsMax below kept', { emptySlabsKept: 3, emptySlabsMax: 1 }],
    ['maxBytes', { maxBytes: -1 }],
  ])('bad option %s: ERR_RIO_INVALID_OPTION', (_n, options) => {
    expect(() => setup(options)).toThrow(code('ERR_RIO_INVALID_OPTION'));
  });
});

describe('close', () => {
  test('waits for outstanding leases, then deregisters and unmaps everything', async () => {
    const { pool, registrar } = setup();
    const a = pool.acquire(512);
    const b = pool.acquire(9000).retain();
    const bytes = a.bytes;
    let done = false;
    const closing = pool.close().then(() => (done = true));
    expect(() => pool.acquire(1)).toThrow(code('ERR_RIO_POOL_CLOSED'));
    a.release();
    b.release();
    await Promise.resolve();
    expect(done).toBe(false);
    b.release();
    await closing;
    expect(done).toBe(true);
    expect(registrar.liveRegistrations).toBe(0);
    expect(registrar.liveMappings).toBe(0);
    expect(bytes.length).toBe(0);
    expect(pool.close()).toBe(pool.close());
    checkInvariants(pool);
  });
});

describe('stats', () => {
  test('a versioned object with per-class and total figures, hostages included', () => {
    const { pool } = setup();
    const leases = Array.from({ length: 128 }, () => pool.acquire(500));
    leases.slice(1).forEach((l) => l.release());
    const s = pool.stats();
    expect(s.version).toBe(1);
    expect(s.backend).toBe('memory');
    expect(s.locked).toBe(false);
    expect(s.classes).toEqual([expect.objectContaining({ slotSize: 512, slabs: 1, leased: 1, free: 127, peak: 128, totalAcquired: 128 })]);
    expect(s.totals).toMatchObject({
      slabs: 1,
      registrations: 1,
      leased: 1,
      requestedBytes: 500,
      reservedBytes: 512,
      mappedBytes: 65536,
      hostageSlabs: 1,
      hostageBytes: 65536,
    });
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });
});
