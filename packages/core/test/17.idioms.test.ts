import { inspect } from 'node:util';
import { MemoryRegistrar, Allocator, isRioError } from '@riopool/core';

function setup() {
  const registrar = new MemoryRegistrar({ pageSize: 4096 });
  return { registrar, pool: new Allocator(registrar, {}) };
}

test('lease.bytes is a Buffer over the slot: toString, write, readUInt32BE, no copy', () => {
  const { pool } = setup();
  const lease = pool.acquire(16);
  const bytes = lease.bytes;
  expect(Buffer.isBuffer(bytes)).toBe(true);
  expect(bytes.write('hello', 'utf8')).toBe(5);
  expect(bytes.toString('utf8', 0, 5)).toBe('hello');
  bytes.writeUInt32BE(0xdeadbeef, 8);
  expect(bytes.readUInt32BE(8)).toBe(0xdeadbeef);
  const whole = pool.view(lease.rioBuf.bufferId);
  expect(Buffer.isBuffer(whole)).toBe(true);
  expect(whole.toString('utf8', lease.rioBuf.offset, lease.rioBuf.offset + 5)).toBe('hello');
  expect(bytes.buffer).toBe(whole.buffer); // one memory, no copy
  expect(lease.bytes).toBe(bytes); // the view is reused
  expect(inspect(bytes).startsWith('<Buffer 68 65 6c 6c 6f')).toBe(true);
  lease.release();
});

test('using: the lease is released at the end of the scope, and on a throw', () => {
  const { pool } = setup();
  let kept: ReturnType<typeof pool.acquire> | undefined;
  {
    using lease = pool.acquire(64);
    kept = lease;
    expect(lease.released).toBe(false);
  }
  expect(kept.released).toBe(true);
  expect(() => {
    using lease = pool.acquire(64);
    kept = lease;
    throw new Error('body');
  }).toThrow('body');
  expect(kept.released).toBe(true);
  // Released inside the scope already: disposal does not release it again.
  {
    using lease = pool.acquire(64);
    lease.release();
  }
  expect(pool.stats().totals.leased).toBe(0);
});

test('a retained lease declared with using keeps the other reference', () => {
  const { pool } = setup();
  let kept: ReturnType<typeof pool.acquire> | undefined;
  {
    using lease = pool.acquire(64);
    kept = lease.retain();
  }
  expect(kept.released).toBe(false);
  kept.release();
  expect(kept.released).toBe(true);
});

test('console.log(lease) shows its RioBuf, references and released', () => {
  const { pool } = setup();
  const lease = pool.acquire(100);
  const { bufferId, offset } = lease.rioBuf;
  expect(inspect(lease, { breakLength: Infinity })).toBe(
    `Lease { bufferId: ${bufferId}, offset: ${offset}, length: 100, references: 1, registered: true, released: false }`,
  );
  lease.release();
  expect(inspect(lease)).toBe('Lease { length: 100, released: true }');
});

test('lease.buf is a deprecated alias of rioBuf: one DeprecationWarning per process', () => {
  const { pool } = setup();
  const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  try {
    const lease = pool.acquire(10);
    expect(lease.buf).toBe(lease.rioBuf);
    expect(pool.acquire(20).buf.length).toBe(20);
    expect(emitWarning).toHaveBeenCalledTimes(1);
    expect(emitWarning.mock.calls[0]![1]).toEqual({ type: 'DeprecationWarning', code: 'RIOPOOL_DEP_LEASE_BUF' });
    expect(String(emitWarning.mock.calls[0]![0])).toMatch(/lease\.rioBuf/);
    lease.release();
    let caught: unknown;
    try {
      void lease.buf;
    } catch (e) {
      caught = e;
    }
    expect(isRioError(caught) && caught.code).toBe('ERR_RIO_RELEASED');
  } finally {
    emitWarning.mockRestore();
  }
});
