/**
 * Registered I/O's public API (createServer, connect, Connection) over real loopback sockets.
 * Every test runs on each datapath this machine can run: `net` everywhere, `uring` where the
 * pool's ring can do I/O.
 */
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import { connect, createPool, createServer, type Connection, type Lease, type Pool } from '@riopool/pool';
import { code, DATAPATHS, echo, echoServer as sharedEchoServer, heldForConnections, settleCheckAndClose, sleep } from './helpers';

describe.each(DATAPATHS)('datapath %s', (datapath) => {
  let pool: Pool;
  beforeEach(() => {
    pool = createPool();
  });
  afterEach(() => settleCheckAndClose(pool));

  /** An echo server that pauses a connection while its writes back up. */
  const echoServer = () => sharedEchoServer(pool, { datapath }, (conn) => echo(conn, true));

  test('stats().io names the datapath and why', async () => {
    const server = createServer(pool, { datapath });
    await server.listen();
    expect(pool.stats().io.datapath).toBe(datapath);
    expect(pool.stats().io.reason).toEqual(expect.any(String));
    await server.close();
  });

  test('many connections echo random binary payloads of 1 B .. 1 MiB, byte for byte, both ways', async () => {
    const { port, close } = await echoServer();
    const sizes = [1, 2, 100, 4095, 4096, 4097, 65536, 100_000, 1 << 20];
    const clients = await Promise.all(Array.from({ length: 12 }, () => connect(pool, { port }, { datapath })));
    await Promise.all(
      clients.map(async (c, k) => {
        const payloads = sizes.map((n) => crypto.randomBytes(n));
        const expected = Buffer.concat(payloads);
        const got: Buffer[] = [];
        let have = 0;
        const done = new Promise<void>((resolve) => {
          c.on('data', (lease: Lease) => {
            got.push(Buffer.from(lease.bytes));
            have += lease.length;
            lease.release();
            if (have >= expected.length) resolve();
          });
        });
        // Send each payload in pieces of assorted sizes (split and coalesced on the way).
        for (const p of payloads) {
          for (let at = 0; at < p.length; ) {
            const n = Math.min(p.length - at, 1 + ((at * 7919 + k * 104729) % 70000));
            const lease = pool.acquire(n);
            lease.bytes.set(p.subarray(at, at + n));
            if (!c.write(lease)) await new Promise((r) => c.once('drain', r));
            lease.release();
            at += n;
          }
        }
        await done;
        expect(Buffer.concat(got).equals(expected)).toBe(true);
        c.end();
        await new Promise((r) => c.once('close', r));
      }),
    );
    await close();
  }, 60_000);

  test('a peer that resets mid-transfer gives ECONNRESET (or EPIPE) and every lease comes back', async () => {
    const errors: string[] = [];
    let closed!: () => void;
    const serverClosed = new Promise<void>((r) => (closed = r));
    const server = createServer(pool, { datapath }, (conn) => {
      conn.on('error', (e: { code: string }) => errors.push(e.code));
      conn.on('close', () => closed());
      conn.on('data', (lease: Lease) => lease.release());
      // Keep sending until the peer is gone.
      const blast = () => {
        while (!conn.closed) {
          const lease = pool.acquire(64 * 1024);
          let ok = false;
          try {
            ok = conn.write(lease);
          } catch {
            ok = false;
          }
          lease.release();
          if (!ok) break;
        }
        if (!conn.closed) conn.once('drain', blast);
      };
      blast();
    });
    const { port } = await server.listen();
    const peer = net.connect(port, '127.0.0.1');
    await new Promise((r) => peer.once('data', r)); // the transfer has started
    peer.resetAndDestroy();
    await serverClosed;
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(['ECONNRESET', 'EPIPE']).toContain(errors[0]);
    await server.close();
  });

  test('a client that sends but never reads does not make the server hold unbounded memory', async () => {
    const { port, close } = await echoServer();
    const peer = net.connect(port, '127.0.0.1');
    await new Promise((r) => peer.once('connect', r));
    peer.pause(); // never reads: the echo's writes back up
    const chunk = Buffer.alloc(64 * 1024, 7);
    let written = 0;
    let maxLeasedBytes = 0;
    for (let i = 0; i < 200; i++) {
      // 12.5 MiB offered; the kernel buffers take what they can, then the server must stop reading.
      if (!peer.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            peer.off('drain', done);
            resolve();
          };
          const timer = setTimeout(done, 10);
          peer.once('drain', done);
        });
      }
      written += chunk.length;
      maxLeasedBytes = Math.max(maxLeasedBytes, heldForConnections(pool));
    }
    await sleep(100);
    maxLeasedBytes = Math.max(maxLeasedBytes, heldForConnections(pool));
    // Bounded by the high-water mark (64 KiB) plus what is in flight, not by what was offered;
    // the receive ring's shared buffers are bounded on their own (at most 16 x 64 KiB).
    expect(maxLeasedBytes).toBeLessThan(2 * 1024 * 1024);
    expect(pool.stats().io.ring?.lent ?? 0).toBeLessThanOrEqual(16);
    expect(written).toBeGreaterThan(8 * 1024 * 1024);
    peer.destroy();
    await close();
  }, 60_000);

  /** A client connection to an echo server; `use` runs on it, then everything closes. */
  async function withClient(use: (c: Connection) => Promise<void> | void): Promise<void> {
    const { port, close } = await echoServer();
    const c: Connection = await connect(pool, { port }, { datapath });
    await use(c);
    if (!c.closed) {
      c.destroy();
      await new Promise((r) => c.once('close', r));
    }
    await close();
  }

  /** One round trip of `n` bytes on `c`: what comes back is what went out. */
  async function roundTrip(c: Connection, n: number): Promise<void> {
    const out = pool.acquire(n);
    out.bytes.fill(0x5a);
    let got = 0;
    const back = new Promise<void>((resolve) => {
      const onData = (lease: Lease) => {
        expect(lease.bytes.every((b) => b === 0x5a)).toBe(true);
        got += lease.length;
        lease.release();
        if (got === n) {
          c.off('data', onData);
          resolve();
        }
      };
      c.on('data', onData);
    });
    expect(c.write(out)).toBe(true);
    out.release();
    await back;
  }

  test('a write of something that is not a lease of this pool is ERR_RIO_INVALID_BUFFER; the connection still works', async () => {
    const other = createPool({ backend: 'none' });
    const foreign = other.acquire(16);
    await withClient(async (c) => {
      expect(() => c.write({} as Lease)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
      expect(() => c.write(foreign)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
      await roundTrip(c, 100);
    });
    foreign.release();
    await other.close();
  });

  test.each([0, -1, 17, 1.5, NaN, '4'])(
    'a write of length %p of a 16-byte lease is ERR_RIO_INVALID_LENGTH; nothing is held',
    async (bad) => {
      await withClient(async (c) => {
        const lease = pool.acquire(16);
        expect(() => c.write(lease, bad as number)).toThrow(code('ERR_RIO_INVALID_LENGTH'));
        lease.release(); // the refused write took no reference: this was the last one
        expect(lease.released).toBe(true);
        await roundTrip(c, 100);
      });
    },
  );

  test('a write of a released lease is ERR_RIO_RELEASED', async () => {
    await withClient(async (c) => {
      const lease = pool.acquire(16);
      lease.release();
      expect(() => c.write(lease)).toThrow(code('ERR_RIO_RELEASED'));
      await roundTrip(c, 100);
    });
  });

  test("a write after end() is refused as net.Socket refuses it: false, then 'error' ERR_RIO_CONNECTION_CLOSED, no throw", async () => {
    await withClient(async (c) => {
      c.end();
      const late = pool.acquire(8);
      const error = new Promise((resolve) => c.once('error', resolve));
      // Listened for now: the 'close' may come in the same turn as the 'error' (as net.Socket's does).
      const closed = new Promise((r) => c.once('close', r));
      expect(c.write(late)).toBe(false);
      await expect(error).resolves.toEqual(code('ERR_RIO_CONNECTION_CLOSED'));
      late.release();
      await closed;
    });
  });
});

test('asking for a datapath that does not exist, or one that cannot run, is a typed error', async () => {
  const pool = createPool({ backend: 'none' });
  expect(() => createServer(pool, { datapath: 'rdma' as 'net' })).toThrow(code('ERR_RIO_INVALID_OPTION'));
  await expect(createServer(pool, { datapath: 'uring' }).listen()).rejects.toEqual(code('ERR_RIO_DATAPATH'));
  await expect(connect(pool, { port: 1 }, { datapath: 'uring' })).rejects.toEqual(code('ERR_RIO_DATAPATH'));
  expect(() => createServer(pool, { receiveSize: 0 })).toThrow(code('ERR_RIO_INVALID_LENGTH'));
  expect(pool.stats().io.datapath).toBe('none');
  await pool.close();
});

const onRing = DATAPATHS.includes('uring') ? test : test.skip;

onRing(
  "a connection whose first receive finds the pool at its maxBytes hears it: 'error' ERR_RIO_POOL_EXHAUSTED after 'connection', then 'close'",
  async () => {
    // Each connection's first receive takes a lease of receiveSize at once; the pool lends 128 KiB.
    const small = createPool({ maxBytes: 128 * 1024 });
    const heard: { error?: unknown; closed: boolean }[] = [];
    const server = createServer(small, { datapath: 'uring', receive: 'lease', receiveSize: 64 * 1024 }, (conn) => {
      const h: { error?: unknown; closed: boolean } = { closed: false };
      heard.push(h);
      conn.on('error', (e) => (h.error = e));
      conn.on('close', () => (h.closed = true));
    });
    const { port } = await server.listen();
    const clients = Array.from({ length: 4 }, () => net.connect(port, '127.0.0.1').on('error', () => {}));
    const deadline = Date.now() + 5000; // a liveness bound, 50x a normal run
    while ((heard.length < 4 || !heard.some((h) => h.closed)) && Date.now() < deadline) await sleep(10);
    const refused = heard.filter((h) => h.error !== undefined);
    expect(heard).toHaveLength(4);
    expect(refused.length).toBeGreaterThan(0);
    for (const h of refused) {
      expect(h.error).toEqual(code('ERR_RIO_POOL_EXHAUSTED'));
      expect(h.closed).toBe(true);
    }
    for (const c of clients) c.destroy();
    server.closeAllConnections();
    await server.close();
    await small.close();
  },
);
