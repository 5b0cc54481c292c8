/**
 * ReceiveBuffer: a stream cut at random points comes back whole, message by message, with each
 * byte copied at most a bounded number of times (never again per receive), and every lease back.
 */
import * as fc from 'fast-check';
import { ReceiveBuffer, createPool, type Pool } from '@riopool/pool';
import { propertyParams } from '../../../test/support';
import { code, outstanding } from './helpers';

let pool: Pool;
beforeAll(() => {
  pool = createPool({ backend: 'none' });
});
afterAll(() => pool.close());

/** Messages of `length:u32le` + bytes, parsed from the front of `bytes`; returns the bytes used. */
function parse(bytes: Uint8Array, got: Buffer[]): number {
  let at = 0;
  while (bytes.length - at >= 4) {
    const n = Buffer.from(bytes.buffer, bytes.byteOffset + at, 4).readUInt32LE(0);
    if (bytes.length - at - 4 < n) break;
    got.push(Buffer.from(bytes.subarray(at + 4, at + 4 + n)));
    at += 4 + n;
  }
  return at;
}

test('messages cut at any points, as leases or as bytes, come back whole and in order', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 30 }),
      fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 50 }),
      fc.boolean(),
      (messages, cuts, asLeases) => {
        const stream = Buffer.concat(messages.flatMap((m) => [Buffer.from(Uint32Array.of(m.length).buffer), Buffer.from(m)]));
        const pending = new ReceiveBuffer();
        const got: Buffer[] = [];
        for (let at = 0, k = 0; at < stream.length; k++) {
          const n = Math.min(cuts[k % cuts.length]!, stream.length - at);
          let input: Uint8Array | ReturnType<Pool['acquire']> = stream.subarray(at, at + n);
          if (asLeases) {
            const lease = pool.acquire(n);
            lease.bytes.set(stream.subarray(at, at + n));
            input = lease;
          }
          at += n;
          pending.consume(parse(pending.append(input), got));
        }
        expect(got.map((b) => b.toString('hex'))).toEqual(messages.map((m) => Buffer.from(m).toString('hex')));
        expect(pending.length).toBe(0);
        pending.release();
        expect(outstanding(pool)).toBe(0);
      },
    ),
    propertyParams('ReceiveBuffer reassembly', 300),
  );
});

test.each([
  ['with reserve()', true, 1.01],
  ['without: the buffer doubles', false, 3],
])('a message of 8 MiB in 64 KiB receives, %s: each byte copied a bounded number of times, not once per receive', (_, reserve, most) => {
  const size = 8 << 20;
  const pending = new ReceiveBuffer({ maxBytes: size + 8 });
  const header = Buffer.from(Uint32Array.of(size).buffer);
  pending.consume(0 * pending.append(header).length);
  if (reserve) pending.reserve(size + 4); // the parser knows the length from the header
  let messages = 0;
  for (let i = 0; i < size / 65536; i++) {
    const lease = pool.acquire(65536);
    lease.bytes.fill(i & 0xff);
    const bytes = pending.append(lease);
    const whole = bytes.length === size + 4;
    if (whole) messages++;
    pending.consume(whole ? size + 4 : 0);
  }
  expect(messages).toBe(1);
  expect(pending.copiedBytes).toBeLessThanOrEqual(most * size);
  expect(pending.length).toBe(0);
  expect(outstanding(pool)).toBe(0);
});

test('append() returns a Buffer, a view of the bytes, whatever it was given', () => {
  const pending = new ReceiveBuffer();
  const bytes = new Uint8Array([104, 105, 13, 10]);
  const view = pending.append(bytes);
  expect(Buffer.isBuffer(view)).toBe(true);
  expect(view.toString('latin1')).toBe('hi\r\n');
  bytes[0] = 72; // a view, not a copy, while nothing is pending
  expect(view.toString('latin1', 0, 2)).toBe('Hi');
  pending.consume(2);
  const rest = pending.append(new Uint8Array([33]));
  expect(Buffer.isBuffer(rest)).toBe(true);
  expect(rest.toString('latin1')).toBe('\r\n!');
  pending.release();
});

test('bad input: typed errors, and a lease it refuses goes back', () => {
  const pending = new ReceiveBuffer({ maxBytes: 100 });
  const lease = pool.acquire(200);
  expect(() => pending.append(lease)).toThrow(code('ERR_RIO_INVALID_LENGTH'));
  expect(lease.released).toBe(true);
  expect(() => pending.append({} as Uint8Array)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
  expect(() => pending.consume(1)).toThrow(code('ERR_RIO_INVALID_LENGTH'));
  expect(() => new ReceiveBuffer({ maxBytes: 0 })).toThrow(code('ERR_RIO_INVALID_OPTION'));
  pending.release();
});
