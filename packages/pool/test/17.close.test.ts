/**
 * pool.close(options): bounded by a timeout or a signal, it rejects with ERR_RIO_OUTSTANDING
 * naming the leases (with their acquisition stacks in checked mode) and connections still open;
 * force stops waiting for leases without taking memory a lease uses; a close stuck when the
 * process has nothing else to do says so (RIOPOOL_CLOSE_PENDING).
 */
import { once } from 'node:events';
import { connect, createPool, createServer, type OutstandingError } from '@riopool/pool';
import { code, runChild } from './helpers';

test('close({ timeout }) with a forgotten lease rejects with ERR_RIO_OUTSTANDING naming it', async () => {
  const pool = createPool({ backend: 'none', checked: true });
  const forgotten = pool.acquire(300);
  const { bufferId, offset } = forgotten.rioBuf;
  const error = (await pool.close({ timeout: 10 }).catch((e: unknown) => e)) as OutstandingError;
  expect(error).toEqual(code('ERR_RIO_OUTSTANDING'));
  expect(error.outstanding.leaseCount).toBe(1);
  expect(error.outstanding.leases[0]).toEqual({ bufferId, offset, length: 300, acquiredAt: expect.stringContaining('17.close.test.ts') });
  expect(error.message).toContain(`lease of 300 B (buffer ${bufferId}, offset ${offset})`);
  expect(error.message).toContain('17.close.test.ts');
  expect(error.message).toContain('force: true');
  // The pool goes on closing: releasing the lease finishes it.
  expect(() => pool.acquire(1)).toThrow(code('ERR_RIO_POOL_CLOSED'));
  const closed = pool.close();
  forgotten.release();
  await closed;
  expect(pool.stats().totals.slabs).toBe(0);
});

test('without checked mode the message says how to see where a lease was acquired', async () => {
  const pool = createPool({ backend: 'none' });
  const lease = pool.acquire(10);
  const error = (await pool.close({ timeout: 0 }).catch((e: unknown) => e)) as OutstandingError;
  expect(error.outstanding.leases[0]!.acquiredAt).toBeUndefined();
  expect(error.message).toContain('checked: true');
  lease.release();
  await pool.close();
});

test('close({ signal }) rejects when the signal aborts, with the abort as its cause', async () => {
  const pool = createPool({ backend: 'none' });
  const lease = pool.acquire(10);
  const ac = new AbortController();
  const closing = pool.close({ signal: ac.signal });
  ac.abort('enough');
  const error = (await closing.catch((e: unknown) => e)) as OutstandingError;
  expect(error).toEqual(code('ERR_RIO_OUTSTANDING'));
  expect((error.cause as { name: string; cause: unknown }).name).toBe('AbortError');
  expect((error.cause as { cause: unknown }).cause).toBe('enough');
  await expect(pool.close({ signal: AbortSignal.abort() })).rejects.toEqual(code('ERR_RIO_OUTSTANDING'));
  lease.release();
  await pool.close({ signal: new AbortController().signal });
});

test('a bounded close that finishes in time resolves; bad options reject with ERR_RIO_INVALID_OPTION', async () => {
  const pool = createPool({ backend: 'none' });
  for (const bad of [null, 5, { timeout: -1 }, { timeout: '1' }, { force: 'yes' }, { signal: {} }, { timout: 5000 }]) {
    await expect(pool.close(bad as never)).rejects.toEqual(code('ERR_RIO_INVALID_OPTION'));
  }
  pool.acquire(10).release();
  await pool.close({ timeout: 60_000 }); // does not wait for the timer
});

test('close({ timeout }) names open connections; force destroys them and does not wait for leases', async () => {
  const pool = createPool();
  const server = createServer(pool, {}, (conn) => conn.on('data', (lease) => lease.release()));
  const { port } = await server.listen({ port: 0 });
  const client = await connect(pool, { port });
  client.on('data', (lease) => lease.release());
  const kept = pool.acquire(4096);
  kept.bytes.fill(9);
  const error = (await pool.close({ timeout: 10 }).catch((e: unknown) => e)) as OutstandingError;
  expect(error).toEqual(code('ERR_RIO_OUTSTANDING'));
  expect(error.outstanding.connections).toEqual(
    expect.arrayContaining([
      expect.stringContaining(`connect() to 127.0.0.1 port ${port}`),
      expect.stringContaining(`server on 127.0.0.1 port ${port}`),
    ]),
  );
  const clientClosed = once(client, 'close');
  await pool.close({ force: true });
  await clientClosed;
  expect(client.closed).toBe(true);
  // The lease still works: its slab stays mapped until its last release.
  expect(kept.bytes[4095]).toBe(9);
  kept.release();
  expect(pool.stats().totals.slabs).toBe(0);
  await server.close();
});

test('a close still waiting when the process has nothing left to do warns RIOPOOL_CLOSE_PENDING, naming the lease', () => {
  const r = runChild(`
    const pool = riopool.createPool({ backend: 'none' });
    pool.acquire(777);
    pool.close().then(() => console.log(JSON.stringify('closed')));
  `);
  expect(r.json).toBeNull();
  expect(r.stderr).toContain('RIOPOOL_CLOSE_PENDING');
  expect(r.stderr).toContain('lease of 777 B');
});

test.each([
  ['AbortSignal.timeout(50)', '{ signal: AbortSignal.timeout(50) }'],
  ['timeout: 50', '{ timeout: 50 }'],
])('a close bounded by %s keeps the process alive until it settles (a forgotten lease: ERR_RIO_OUTSTANDING, exit 0)', (_name, options) => {
  // Nothing else keeps this child alive: the close's own handle must, or it exits 13 (an
  // unsettled top-level await) without an answer.
  const r = runChild(`
    const pool = riopool.createPool({ backend: 'none' });
    pool.acquire(777);
    pool.close(${options}).then(
      () => console.log(JSON.stringify('closed')),
      (e) => console.log(JSON.stringify({ code: e.code, lease: /lease of 777 B/.test(e.message) })),
    );
  `);
  expect(r.status).toBe(0);
  expect(r.json).toEqual({ code: 'ERR_RIO_OUTSTANDING', lease: true });
  // (The pool goes on closing after the bounded wait ends: RIOPOOL_CLOSE_PENDING may follow.)
});

test('a close bounded by a signal lets the process exit once it settles (its handle does not outlive it)', () => {
  const r = runChild(`
    const pool = riopool.createPool({ backend: 'none' });
    const lease = pool.acquire(10);
    setTimeout(() => lease.release(), 20);
    pool.close({ signal: AbortSignal.timeout(600000) }).then(() => console.log(JSON.stringify('closed')));
  `);
  expect(r.status).toBe(0);
  expect(r.json).toBe('closed');
});
