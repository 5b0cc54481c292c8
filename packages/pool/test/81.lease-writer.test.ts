/** LeaseWriter: pieces written into pool memory come out as one lease of exactly those bytes. */
import { LeaseWriter, createPool, type Pool } from '@riopool/pool';
import { checkInvariants } from '@riopool/pool/testing';
import { code, outstanding } from './helpers';

let pool: Pool;
beforeAll(() => {
  pool = createPool({ backend: 'none' });
});
afterAll(() => pool.close());

test('strings and bytes, past several doublings, come out as one lease of exactly what was written', () => {
  const w = new LeaseWriter(pool, { initialBytes: 16 });
  const expected: Buffer[] = [];
  for (let i = 0; i < 500; i++) {
    const piece = i % 3 === 0 ? Buffer.alloc(i, i & 0xff) : Buffer.from(`+piece ${i} é\r\n`, i % 3 === 1 ? 'latin1' : 'utf8');
    if (i % 3 === 0) w.write(piece);
    else w.write(`+piece ${i} é\r\n`, i % 3 === 1 ? 'latin1' : 'utf8');
    expected.push(piece);
  }
  const all = Buffer.concat(expected);
  expect(w.length).toBe(all.length);
  const lease = w.take()!;
  expect(lease.length).toBe(all.length);
  expect(Buffer.from(lease.bytes).equals(all)).toBe(true);
  expect(w.length).toBe(0);
  expect(w.take()).toBeUndefined();
  lease.release();
  checkInvariants(pool);
  expect(outstanding(pool)).toBe(0);
});

test('release() drops what was written; bad input is refused with typed errors', () => {
  const w = new LeaseWriter(pool);
  w.write('abc');
  w.release();
  expect(w.length).toBe(0);
  expect(outstanding(pool)).toBe(0);
  expect(() => w.write(42 as unknown as string)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
  expect(() => new LeaseWriter(pool, { initialBytes: 0 })).toThrow(code('ERR_RIO_INVALID_OPTION'));
});

test('a message starts at the size the last one reached, rounded up to a power of two (alike replies grow nothing), 64 KiB at most', () => {
  const w = new LeaseWriter(pool, { initialBytes: 16 });
  const requested = () => pool.stats().totals.requestedBytes;
  const before = requested();
  w.write(Buffer.alloc(6000, 1));
  w.take()!.release();
  w.write('+OK\r\n'); // the next message's first lease is already 8,192 bytes (6,000 rounded up)
  expect(requested() - before).toBe(8192);
  w.write(Buffer.alloc(8000, 3)); // and 8,005 bytes fit in it: no grow, no copy
  expect(requested() - before).toBe(8192);
  w.take()!.release();
  w.write(Buffer.alloc(8192, 4)); // exactly a power of two: the next message starts at 8,192, not 16,384
  w.take()!.release();
  w.write('+');
  expect(requested() - before).toBe(8192);
  w.take()!.release(); // one byte: the next starts at initialBytes
  w.write('+');
  expect(requested() - before).toBe(16);
  w.take()!.release();
  w.write(Buffer.alloc(200 * 1024, 2));
  w.take()!.release();
  w.write('+OK\r\n'); // a huge message is not carried over: 64 KiB at most
  expect(requested() - before).toBe(64 * 1024);
  const small = w.take()!;
  expect(small.length).toBe(5);
  small.release();
  expect(outstanding(pool)).toBe(0);
});
