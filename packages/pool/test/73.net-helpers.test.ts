import * as net from 'node:net';
import { createPool, leaseReader, attachReader, adoptSocket, writeLease, type Lease } from '@riopool/pool';
import { code } from './helpers';

function listen(server: net.Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as net.AddressInfo).port)));
}

test('a client reads straight into pool leases; every lease returns after close', async () => {
  const pool = createPool();
  const payload = Buffer.alloc(300_000);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
  const server = net.createServer((s) => s.end(payload));
  const port = await listen(server);
  const received: Buffer[] = [];
  const bufferIds = new Set<number>();
  const reader = leaseReader(pool, 4096, (lease, nread) => {
    bufferIds.add(lease.rioBuf.bufferId);
    received.push(Buffer.from(lease.bytes.subarray(0, nread)));
    lease.release();
  });
  const socket = attachReader(net.connect({ port, host: '127.0.0.1', onread: reader }), reader);
  await new Promise((r) => socket.on('close', r));
  expect(Buffer.concat(received).equals(payload)).toBe(true);
  expect(bufferIds.size).toBeGreaterThanOrEqual(1);
  expect(pool.stats().totals.leased).toBe(0);
  server.close();
  await pool.close();
});

test('adoptSocket: an accepted server socket reads into pool leases', async () => {
  const pool = createPool();
  const got: string[] = [];
  const server = net.createServer({ pauseOnConnect: true }, (accepted) => {
    const reader = leaseReader(pool, 4096, (lease, nread) => {
      got.push(Buffer.from(lease.bytes.subarray(0, nread)).toString());
      lease.release();
    });
    const s = adoptSocket(accepted, reader);
    s.on('end', () => s.end());
  });
  const port = await listen(server);
  const c = net.connect(port, '127.0.0.1', () => c.end('hello riopool'));
  await new Promise((r) => c.on('close', r));
  await new Promise((r) => server.close(r));
  expect(got.join('')).toBe('hello riopool');
  await pool.close(); // resolves only if the waiting read lease was released at close
  expect(pool.stats().totals.slabs).toBe(0);
});

test('writeLease holds a reference while the write is in flight and drops it on success', async () => {
  const pool = createPool();
  const chunks: Buffer[] = [];
  const server = net.createServer((s) => s.on('data', (d) => chunks.push(d)));
  const port = await listen(server);
  const c = net.connect(port, '127.0.0.1');
  await new Promise((r) => c.on('connect', r));
  const lease = pool.acquire(1000);
  lease.bytes.fill(0x61);
  let releasedDuring: boolean | undefined;
  let leasedDuring = -1;
  await new Promise<void>((resolve, reject) => {
    writeLease(c, lease, 600, (err) => (err ? reject(err) : resolve()));
    lease.release(); // the caller's reference: the write's own keeps the slot
    releasedDuring = lease.released;
    leasedDuring = pool.stats().totals.leased;
  });
  expect(releasedDuring).toBe(false);
  expect(leasedDuring).toBe(1);
  expect(lease.released).toBe(true); // the write's reference went with its callback
  c.end();
  await new Promise((r) => c.on('close', r));
  await new Promise((r) => server.close(r));
  expect(Buffer.concat(chunks).toString()).toBe('a'.repeat(600));
  await pool.close();
});

test('writeLease drops its reference on error too', async () => {
  const pool = createPool({ backend: 'none' });
  const c = new net.Socket();
  c.on('error', () => {});
  c.destroy();
  const lease = pool.acquire(64);
  const err = await new Promise<Error | null | undefined>((resolve) => writeLease(c, lease, 64, resolve));
  expect(err).toEqual(expect.objectContaining({ message: expect.any(String) })); // an Error (from node's realm)
  lease.release(); // the caller's: the write's reference is gone already
  expect(lease.released).toBe(true);
  await pool.close();
});

test('net helpers reject bad arguments with typed errors', async () => {
  const pool = createPool({ backend: 'none' });
  const lease = pool.acquire(64);
  const sock = new net.Socket();
  expect(() => writeLease({} as any, lease)).toThrow(code('ERR_RIO_INVALID_OPTION'));
  expect(() => writeLease(sock, {} as Lease)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
  for (const bad of [0, -1, NaN, 1.5, '8', 1e9]) {
    expect(() => writeLease(sock, lease, bad as number)).toThrow(code('ERR_RIO_INVALID_LENGTH'));
  }
  lease.release(); // no failed call took a reference: this one releases the lease
  expect(lease.released).toBe(true);
  expect(() => writeLease(sock, lease)).toThrow(code('ERR_RIO_RELEASED'));
  for (const bad of [0, -1, NaN, 1.5, '8', 2 ** 40]) {
    expect(() => leaseReader(pool, bad as number, () => {})).toThrow(code('ERR_RIO_INVALID_LENGTH'));
  }
  expect(() => leaseReader(pool, 64, 'x' as any)).toThrow(code('ERR_RIO_INVALID_OPTION'));
  sock.destroy();
  await pool.close();
});
