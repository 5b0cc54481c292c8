/**
 * toDuplex: connections as node:stream Duplexes, over real loopback sockets on each datapath
 * this machine can run. The bytes are checked end to end, backpressure is checked by what the
 * pool holds, and every lease is back when the streams are gone.
 */
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import { pipeline } from 'node:stream/promises';
import { connect, createPool, createServer, toDuplex, type Connection, type Lease, type Pool } from '@riopool/pool';
import { assertNoOutstanding, checkInvariants } from '@riopool/pool/testing';
import { code } from './helpers';

const DATAPATHS = ['net', 'uring'] as const;

async function settle(pool: Pool): Promise<void> {
  for (let i = 0; i < 200 && pool.stats().totals.leased > 0; i++) await new Promise((r) => setTimeout(r, 5));
}

describe.each(DATAPATHS)('datapath %s', (datapath) => {
  let pool: Pool;
  beforeEach(() => {
    pool = createPool();
  });
  afterEach(async () => {
    await settle(pool);
    checkInvariants(pool);
    assertNoOutstanding(pool);
    await pool.close();
  });

  /** An echo server written with streams: pipeline(stream, stream) per connection. */
  async function streamEchoServer(): Promise<{ port: number; close: () => Promise<void> }> {
    const server = createServer(pool, { datapath }, (conn) => {
      const s = toDuplex(conn);
      pipeline(s, s).catch(() => {});
    });
    const { port } = await server.listen({ port: 0 });
    return { port, close: () => server.close() };
  }

  test('pipeline() echo: random binary payloads of 1 B .. 1 MiB come back byte for byte on many connections', async () => {
    const { port, close } = await streamEchoServer();
    const sizes = [1, 2, 100, 4095, 4096, 4097, 65536, 100_000, 1 << 20];
    await Promise.all(
      Array.from({ length: 8 }, async (_, k) => {
        const client = toDuplex(await connect(pool, { port }, { datapath }));
        const payloads = sizes.map((n) => crypto.randomBytes(n));
        const expected = Buffer.concat(payloads);
        const got: Buffer[] = [];
        client.on('data', (chunk: Buffer) => got.push(chunk));
        const ended = new Promise((r) => client.once('end', r));
        // Writes of assorted sizes (split and coalesced on the way), with the stream's backpressure.
        for (const p of payloads) {
          for (let at = 0; at < p.length; ) {
            const n = Math.min(p.length - at, 1 + ((at * 7919 + k * 104729) % 70000));
            if (!client.write(p.subarray(at, at + n))) await new Promise((r) => client.once('drain', r));
            at += n;
          }
        }
        client.end(); // the server's pipeline ends its side after echoing everything
        await ended;
        expect(Buffer.concat(got).equals(expected)).toBe(true);
        await new Promise((r) => client.once('close', r));
        expect(client.connection.closed).toBe(true);
      }),
    );
    await close();
  }, 60_000);

  test('a client that sends but never reads does not make a stream echo hold unbounded memory', async () => {
    // The echo's readable side must stop the connection's receives: the pool's memory and the
    // stream's own buffer both stay bounded by the high-water marks.
    let echo: ReturnType<typeof toDuplex> | undefined;
    const server = createServer(pool, { datapath }, (conn) => {
      echo = toDuplex(conn);
      pipeline(echo, echo).catch(() => {});
    });
    const { port } = await server.listen({ port: 0 });
    const peer = net.connect(port, '127.0.0.1');
    await new Promise((r) => peer.once('connect', r));
    peer.pause(); // never reads: the echo's writes back up, and the pipeline stops reading
    const chunk = Buffer.alloc(64 * 1024, 7);
    let written = 0;
    let maxReserved = 0;
    let maxStreamBuffered = 0;
    const measure = () => {
      maxReserved = Math.max(maxReserved, pool.stats().totals.reservedBytes);
      if (echo !== undefined) maxStreamBuffered = Math.max(maxStreamBuffered, echo.readableLength + echo.writableLength);
    };
    for (let i = 0; i < 200; i++) {
      if (!peer.write(chunk)) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 10);
          peer.once('drain', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      written += chunk.length;
      measure();
    }
    await new Promise((r) => setTimeout(r, 100));
    measure();
    expect(written).toBeGreaterThan(8 * 1024 * 1024);
    expect(maxReserved).toBeLessThan(2 * 1024 * 1024);
    expect(maxStreamBuffered).toBeLessThan(1024 * 1024);
    peer.destroy();
    await server.close();
  }, 60_000);

  test('destroy() with writes queued completes once the connection has closed; its leases come back', async () => {
    const accepted: Connection[] = [];
    const server = createServer(pool, { datapath }, (conn) => {
      accepted.push(conn);
      conn.pause(); // accepts, never reads: the client's writes back up
    });
    const { port } = await server.listen({ port: 0 });
    const client = toDuplex(await connect(pool, { port }, { datapath }));
    const big = Buffer.alloc(256 * 1024, 1);
    for (let i = 0; i < 64 && client.write(big); i++) {}
    expect(client.connection.bufferedBytes).toBeGreaterThan(0);
    client.destroy();
    await new Promise((r) => client.once('close', r));
    expect(client.connection.closed).toBe(true);
    expect(client.connection.bufferedBytes).toBe(0);
    for (const c of accepted) c.destroy();
    await server.close();
    await settle(pool);
    expect(pool.stats().totals.leased).toBe(0);
  });

  test('a peer reset reaches the stream as an error with the socket code', async () => {
    let serverStream: ReturnType<typeof toDuplex> | undefined;
    const gotError = new Promise<string>((resolve) => {
      const server = createServer(pool, { datapath }, (conn) => {
        serverStream = toDuplex(conn);
        serverStream.on('error', (e: { code: string }) => resolve(e.code));
        serverStream.resume();
        const blast = () => {
          while (serverStream!.write(Buffer.alloc(64 * 1024, 3))) {}
          if (!serverStream!.destroyed) serverStream!.once('drain', blast);
        };
        blast();
      });
      void server.listen({ port: 0 }).then(({ port }) => {
        const peer = net.connect(port, '127.0.0.1');
        peer.once('data', () => peer.resetAndDestroy());
        void gotError.then(() => server.close());
      });
    });
    expect(['ECONNRESET', 'EPIPE']).toContain(await gotError);
    if (!serverStream!.closed) await new Promise((r) => serverStream!.once('close', r));
    expect(serverStream!.connection.closed).toBe(true);
  });
});

test('toDuplex refuses what is not a usable connection, with typed errors', async () => {
  const pool = createPool();
  const server = createServer(pool, {}, (conn: Connection) => conn.on('data', (l: Lease) => l.release()));
  const { port } = await server.listen({ port: 0 });
  const conn = await connect(pool, { port });
  expect(() => toDuplex({} as Connection)).toThrow(code('ERR_RIO_INVALID_OPTION'));
  for (const bad of [0, -1, 1.5, '4']) expect(() => toDuplex(conn, { chunkBytes: bad as number })).toThrow(code('ERR_RIO_INVALID_OPTION'));
  expect(() => toDuplex(conn, { readableHighWaterMark: -1 })).toThrow(code('ERR_RIO_INVALID_OPTION'));
  const s = toDuplex(conn);
  expect(() => toDuplex(conn)).toThrow(code('ERR_RIO_INVALID_OPTION')); // already has a data listener
  s.destroy();
  await new Promise((r) => s.once('close', r));
  expect(() => toDuplex(conn)).toThrow(code('ERR_RIO_INVALID_OPTION')); // closed
  await server.close();
  await pool.close();
});
