import { createPool, isRioError, type Pool } from '@riopool/pool';
import { checkInvariants, describeHandle } from '@riopool/pool/testing';
import { loadBinding } from '@riopool/native';
import { code, isLinux } from './helpers';

const native = loadBinding();
const pinned = () => native.memoryStatus().pinned!;

describe('createPool on the real addon', () => {
  let pool: Pool;
  afterEach(async () => {
    await pool.close(); // the same promise again if the test closed it
  });

  (isLinux ? test : test.skip)('uring by default: one slab registered, VmPin up by exactly the slab', () => {
    const before = pinned();
    pool = createPool();
    expect(pool.stats().backend).toBe('uring');
    expect(pool.stats().locked).toBe(true);
    const leases = Array.from({ length: 128 }, () => pool.acquire(512));
    expect(new Set(leases.map((l) => l.rioBuf.bufferId)).size).toBe(1);
    expect(pinned() - before).toBe(64 * 1024);
    leases.forEach((l) => l.release());
    pool.trim();
    expect(pinned()).toBe(before);
  });

  test('lease bytes are the registered memory the RioBuf names', () => {
    pool = createPool();
    const lease = pool.acquire(300);
    lease.bytes.fill(0xab);
    const { bufferId, offset, length } = lease.rioBuf;
    expect(length).toBe(300);
    const slab = pool.view(bufferId);
    expect(slab.subarray(offset, offset + length).every((b) => b === 0xab)).toBe(true);
    expect(lease.bytes.buffer).toBe(slab.buffer);
    lease.release();
    checkInvariants(pool);
  });

  test('RIOPOOL_BACKEND and the backend option choose the backend', () => {
    const saved = process.env.RIOPOOL_BACKEND;
    process.env.RIOPOOL_BACKEND = 'none';
    try {
      pool = createPool();
      expect(pool.stats().backend).toBe('none');
      expect(pool.stats().locked).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.RIOPOOL_BACKEND;
      else process.env.RIOPOOL_BACKEND = saved;
    }
    void pool.close();
    pool = createPool({ backend: 'lock' });
    expect(pool.stats().backend).toBe('lock');
  });

  test('an unknown backend is a typed error, never a silent fallback', () => {
    expect(() => createPool({ backend: 'rdma' as any })).toThrow(code('ERR_RIO_INVALID_OPTION'));
    expect(() => createPool({ fallback: 'tcp' as any })).toThrow(code('ERR_RIO_INVALID_OPTION'));
    pool = createPool({ backend: 'none' });
  });

  test('close(): resolves after the last release, deregisters everything, views read as length 0', async () => {
    const before = native.memoryStatus();
    pool = createPool();
    const a = pool.acquire(512);
    const b = pool.acquire(20000);
    const viewA = a.bytes;
    const viewB = b.bytes;
    let closed = false;
    const closing = pool.close().then(() => (closed = true));
    expect(() => pool.acquire(1)).toThrow(code('ERR_RIO_POOL_CLOSED'));
    a.release();
    await Promise.resolve();
    expect(closed).toBe(false);
    b.release();
    await closing;
    expect(viewA.length).toBe(0);
    expect(viewB.length).toBe(0);
    expect(native.memoryStatus().pinned).toBe(before.pinned);
  });
});

describe('bad arguments: a typed error, and the pool stays usable', () => {
  const pool = createPool({ backend: 'none' });
  const released = pool.acquire(8);
  released.release();
  afterAll(() => pool.close());

  const lengths: [string, unknown][] = [
    ['zero', 0],
    ['negative', -5],
    ['NaN', NaN],
    ['fractional', 2.5],
    ['string', '64'],
    ['huge', 2 ** 40],
    ['wrong object', { length: 64 }],
  ];
  test.each(lengths)('acquire(%s) → ERR_RIO_INVALID_LENGTH', (_n, bad) => {
    expect(() => pool.acquire(bad as number)).toThrow(code('ERR_RIO_INVALID_LENGTH'));
    checkInvariants(pool);
    pool.acquire(64).release();
  });
  test.each(lengths)('acquireInto(%s) → ERR_RIO_INVALID_LENGTH', (_n, bad) => {
    expect(() => pool.acquireInto(bad as number, { bufferId: 0, offset: 0, length: 0 })).toThrow(code('ERR_RIO_INVALID_LENGTH'));
    checkInvariants(pool);
  });
  test.each([
    ['null', null],
    ['number', 3],
    ['string', 'x'],
  ])('acquireInto with out = %s → ERR_RIO_INVALID_BUFFER', (_n, bad) => {
    expect(() => pool.acquireInto(64, bad as any)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
    expect(pool.stats().totals.leased).toBe(0);
  });
  const badHandles: [string, unknown][] = [
    ['negative', -1],
    ['NaN', NaN],
    ['fractional', 0.5],
    ['string', '0'],
    ['huge', 2 ** 40],
    ['wrong object', {}],
  ];
  test.each(badHandles)('releaseHandle(%s) → ERR_RIO_INVALID_BUFFER', (_n, bad) => {
    expect(() => pool.releaseHandle(bad as number)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
    checkInvariants(pool);
  });
  test('releaseHandle and describeHandle of a slot past its slab, or of a slab that does not exist → ERR_RIO_INVALID_BUFFER', () => {
    const out = { bufferId: 0, offset: 0, length: 0 };
    const h = pool.acquireInto(64, out);
    const slabBase = h & ~0xffff; // a live slab: h's own
    expect(() => pool.releaseHandle(slabBase | 0xffff)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
    expect(() => pool.releaseHandle(slabBase + (1000 << 16))).toThrow(code('ERR_RIO_INVALID_BUFFER'));
    expect(() => describeHandle(pool, slabBase | 0xffff, out)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
    checkInvariants(pool);
    pool.releaseHandle(h); // the real one still releases
    expect(pool.stats().totals.leased).toBe(0);
  });
  test.each(badHandles)('describeHandle(%s) → ERR_RIO_INVALID_BUFFER', (_n, bad) => {
    expect(() => describeHandle(pool, bad as number, { bufferId: 0, offset: 0, length: 0 })).toThrow(code('ERR_RIO_INVALID_BUFFER'));
  });
  test('describeHandle: a leased slot reads as acquireInto wrote it, a free one with length 0', () => {
    const out = { bufferId: 0, offset: 0, length: 0 };
    const h = pool.acquireInto(100, out);
    const seen = { bufferId: -1, offset: -1, length: -1 };
    expect(describeHandle(pool, h, seen)).toBe(112); // the 100-byte request's class
    expect(seen).toEqual(out);
    pool.releaseHandle(h);
    describeHandle(pool, h, seen);
    expect(seen).toEqual({ ...out, length: 0 });
  });
  test('releaseHandle of a released handle → ERR_RIO_RELEASED', () => {
    const h = pool.acquireInto(64, { bufferId: 0, offset: 0, length: 0 });
    pool.releaseHandle(h);
    expect(() => pool.releaseHandle(h)).toThrow(code('ERR_RIO_RELEASED'));
  });
  test.each([
    ['negative', -1],
    ['NaN', NaN],
    ['string', '0'],
    ['huge', 2 ** 40],
    ['wrong object', {}],
  ])('view(%s) → ERR_RIO_INVALID_BUFFER', (_n, bad) => {
    expect(() => pool.view(bad as number)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
  });
  test('released lease: release, retain, buf, bytes → ERR_RIO_RELEASED', () => {
    expect(() => released.release()).toThrow(code('ERR_RIO_RELEASED'));
    expect(() => released.retain()).toThrow(code('ERR_RIO_RELEASED'));
    expect(() => released.rioBuf).toThrow(code('ERR_RIO_RELEASED'));
    expect(() => released.bytes).toThrow(code('ERR_RIO_RELEASED'));
    checkInvariants(pool);
  });
  test.each([
    ['zero slabBytes', { slabBytes: 0 }],
    ['negative maxBytes', { maxBytes: -1 }],
    ['NaN largestClass', { largestClass: NaN }],
    ['fractional slabBytes', { slabBytes: 4096.5 }],
    ['string entries', { entries: '16' }],
    ['huge entries', { entries: 1e9 }],
    ['wrong object', 'options'],
  ])('createPool(%s) → a typed error', (_n, bad) => {
    let err: unknown;
    try {
      createPool(bad as any).close();
    } catch (e) {
      err = e;
    }
    expect(isRioError(err)).toBe(true);
  });
});

test('a closed pool: acquire and acquireInto → ERR_RIO_POOL_CLOSED; stats, trim and close still answer', async () => {
  const pool = createPool({ backend: 'none' });
  await pool.close();
  expect(() => pool.acquire(64)).toThrow(code('ERR_RIO_POOL_CLOSED'));
  expect(() => pool.acquireInto(64, { bufferId: 0, offset: 0, length: 0 })).toThrow(code('ERR_RIO_POOL_CLOSED'));
  expect(pool.trim()).toBe(0);
  expect(pool.stats().totals.slabs).toBe(0);
  await pool.close();
});

test('maxBytes: ERR_RIO_POOL_EXHAUSTED', async () => {
  const pool = createPool({ backend: 'none', maxBytes: 65536 });
  const leases = Array.from({ length: 128 }, () => pool.acquire(512));
  expect(() => pool.acquire(512)).toThrow(code('ERR_RIO_POOL_EXHAUSTED'));
  leases.forEach((l) => l.release());
  await pool.close();
});

test('footprint: the model beside what the kernel measures', async () => {
  const pool = createPool();
  const leases = Array.from({ length: 200 }, () => pool.acquire(512));
  leases.forEach((l) => l.bytes.fill(1));
  const f = pool.footprint();
  expect(f.version).toBe(1);
  expect(f.model).toMatchObject({ registrations: 2, requestedBytes: 200 * 512, reservedBytes: 200 * 512, mappedBytes: 2 * 65536 });
  if (isLinux) {
    expect(f.measured.processPinnedBytes).toBeGreaterThanOrEqual(f.model.heldBytes);
    // Pinned pages are resident.
    expect(f.measured.residentBytes).toBe(2 * 65536);
  }
  leases.forEach((l) => l.release());
  await pool.close();
});
