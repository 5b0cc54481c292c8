// Issue 16, corruption and leaks: a stale, forged or foreign handle frees nothing; a call that
// is refused takes nothing (acquireInto's `out`, a checked pool whose onReport throws).
import { createPool, isRioError, type Pool } from '@riopool/pool';
import { checkInvariants, assertNoOutstanding } from '@riopool/pool/testing';
import { code } from './helpers';

const leased = (pool: Pool) => pool.stats().totals.leased;

describe('handles are refused unless live and of this pool', () => {
  let pool: Pool;
  let other: Pool;
  beforeEach(() => {
    pool = createPool({ backend: 'none' });
    other = createPool({ backend: 'none' });
  });
  afterEach(async () => {
    await Promise.all([pool.close(), other.close()]);
  });

  test('releaseHandle(0) while a Lease holds slot 0: refused, the next acquire does not alias it, leased never goes negative', () => {
    const lease = pool.acquire(64);
    for (const forged of [0, 1, 2, 65536, 2 ** 31 - 1]) {
      expect(() => pool.releaseHandle(forged)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
    }
    expect(leased(pool)).toBe(1);
    const next = pool.acquire(64);
    expect(next.buf.offset === lease.buf.offset && next.buf.bufferId === lease.buf.bufferId).toBe(false);
    lease.release();
    next.release();
    expect(leased(pool)).toBe(0);
    checkInvariants(pool);
  });

  test("a handle of pool B released on pool A frees none of A's slots", () => {
    const outA = { bufferId: 0, offset: 0, length: 0 };
    const outB = { bufferId: 0, offset: 0, length: 0 };
    const a = pool.acquireInto(64, outA);
    const b = other.acquireInto(64, outB);
    expect(outA).toEqual(outB); // same slab id, same slot: only the generation tells them apart
    expect(() => pool.releaseHandle(b)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
    expect(leased(pool)).toBe(1);
    pool.releaseHandle(a);
    other.releaseHandle(b);
    checkInvariants(pool);
    checkInvariants(other);
  });

  test("a stale handle (its slot released and leased again) does not free the slot's new owner", () => {
    const out = { bufferId: 0, offset: 0, length: 0 };
    const stale = pool.acquireInto(64, out);
    pool.releaseHandle(stale);
    const live = pool.acquireInto(64, out); // the same slot again
    expect(() => pool.releaseHandle(stale)).toThrow(code('ERR_RIO_RELEASED'));
    const lease = pool.acquire(64);
    expect(leased(pool)).toBe(2);
    pool.releaseHandle(live);
    expect(() => pool.releaseHandle(live)).toThrow(code('ERR_RIO_RELEASED'));
    lease.release();
    expect(leased(pool)).toBe(0);
    checkInvariants(pool);
  });

  test.each([
    ['1n', 1n],
    ['a string', '0'],
    ['null', null],
    ['an object', {}],
    ['NaN', Number.NaN],
    ['-0.5', -0.5],
  ])('releaseHandle(%s) → RioError ERR_RIO_INVALID_BUFFER', (_n, bad) => {
    const lease = pool.acquire(8);
    let thrown: unknown;
    try {
      pool.releaseHandle(bad as number);
    } catch (e) {
      thrown = e;
    }
    expect(isRioError(thrown)).toBe(true);
    expect(thrown).toEqual(code('ERR_RIO_INVALID_BUFFER'));
    expect(leased(pool)).toBe(1);
    lease.release();
  });
});

describe('a refused acquire takes nothing', () => {
  test.each([
    ['a frozen object', () => Object.freeze({ bufferId: 0, offset: 0, length: 0 })],
    ['a sealed empty object', () => Object.seal({})],
    ['a Uint8Array', () => new Uint8Array(4)],
    [
      'a getter-only object',
      () => ({
        get bufferId() {
          return 0;
        },
        get offset() {
          return 0;
        },
        get length() {
          return 0;
        },
      }),
    ],
  ])('acquireInto(64, %s) → ERR_RIO_INVALID_BUFFER, no slot taken, close() settles', async (_n, make) => {
    const pool = createPool({ backend: 'none' });
    expect(() => pool.acquireInto(64, make() as never)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
    expect(leased(pool)).toBe(0);
    await pool.close();
  });

  test('acquireInto(64, a Lease) → ERR_RIO_INVALID_BUFFER; only the Lease itself stays leased', async () => {
    const pool = createPool({ backend: 'none' });
    const lease = pool.acquire(16);
    expect(() => pool.acquireInto(64, lease as never)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
    expect(leased(pool)).toBe(1);
    lease.release();
    await pool.close();
  });

  test('a checked pool whose onReport throws: the acquire throws what it threw and the slot goes back; close() settles', async () => {
    const boom = new Error('onReport says no');
    const pool = createPool({
      backend: 'none',
      checked: true,
      onReport: () => {
        throw boom;
      },
    });
    const lease = pool.acquire(64);
    const { bufferId, offset } = lease.buf;
    lease.release();
    pool.view(bufferId)[offset] = 1; // a write after release: the next acquire of the slot reports it
    expect(() => pool.acquire(64)).toThrow(boom);
    expect(leased(pool)).toBe(0);
    checkInvariants(pool);
    assertNoOutstanding(pool);
    const again = pool.acquire(64); // the slot is usable again
    again.release();
    await pool.close();
  });
});
