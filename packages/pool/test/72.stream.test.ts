/**
 * toDuplex: connections as node:stream Duplexes, over real loopback sockets on each datapath
 * this machine can run. The bytes are checked end to end, backpressure is checked by what the
 * pool holds, and every lease is back when the streams are gone.
 */
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { connect, createPool, createServer, toDuplex, type Connection, type Lease, type Pool } from '@riopool/pool';
import { code, DATAPATHS, heldForConnections, outstanding, settle, settleCheckAndClose, sleep } from './helpers';

describe.each(DATAPATHS)('datapath %s', (datapath) => {
  let pool: Pool;
  beforeEach(() => {
    pool = createPool();
  });
  afterEach(() => settleCheckAndClose(pool));

  /**
   * An echo server written with streams: pipeline(stream, counter, stream) per connection.
   * `received` counts the bytes it read; `errors` collects the pipelines' errors.
   */
  async function streamEchoServer(): Promise<{ port: number; close: () => Promise<void>; received: () => number; errors: string[] }> {
    let received = 0;
    const errors: string[] = [];
    const server = createServer(pool, { datapath }, (conn) => {
      // pipeline(stream, transform, stream) needs allowHalfOpen (as net.Socket does): the stream
      // must not end its side when its reader has seen the end while the transform still holds data.
      const s = toDuplex(conn, { allowHalfOpen: true });
      const counter = new PassThrough();
      counter.on('data', (chunk: Buffer) => (received += chunk.length));
      pipeline(s, counter, s).catch((e: { code?: string }) => errors.push(String(e.code)));
    });
    const { port } = await server.listen({ port: 0 });
    return { port, close: () => server.close(), received: () => received, errors };
  }

  test('pipeline() echo: random binary payloads of 1 B .. 1 MiB come back byte for byte on many connections', async () => {
    const { port, close, errors } = await streamEchoServer();
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
    expect(errors).toEqual([]);
  }, 60_000);

  test('a peer that sends and ends at once gets every byte back from a slow echo (nothing lost to the end)', async () => {
    // The echo passes each chunk on a few milliseconds late, so the peer's end arrives while the
    // echo still holds data it has not written back. With allowHalfOpen (as net.Socket needs for
    // this), the stream's side stays open until pipeline() ends it after the last chunk: the
    // connection must not end its own side at the peer's end.
    const errors: string[] = [];
    const server = createServer(pool, { datapath }, (conn) => {
      const s = toDuplex(conn, { allowHalfOpen: true });
      const slow = new Transform({
        transform(chunk: Buffer, _enc, done) {
          setTimeout(() => done(null, chunk), 2);
        },
      });
      pipeline(s, slow, s).catch((e: { code?: string }) => errors.push(String(e.code)));
    });
    const { port } = await server.listen({ port: 0 });
    const close = () => server.close();
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        const payload = crypto.randomBytes(1 << 20);
        const peer = net.connect(port, '127.0.0.1');
        const got: Buffer[] = [];
        peer.on('data', (d: Buffer) => got.push(d));
        const ended = new Promise((r) => peer.once('end', r));
        peer.end(payload); // the FIN follows the data at once: the server's stream still holds some
        await ended;
        expect(Buffer.concat(got).equals(payload)).toBe(true);
        peer.destroy();
      }),
    );
    await close();
    expect(errors).toEqual([]);
  }, 60_000);

  test('a client that sends but never reads does not make a stream echo hold unbounded memory', async () => {
    // The echo's readable side must stop the connection's receives: the pool's memory and the
    // streams' buffers stay bounded by the high-water marks while the server reads far more.
    const { port, close, received } = await streamEchoServer();
    const peer = net.connect(port, '127.0.0.1');
    await new Promise((r) => peer.once('connect', r));
    peer.pause(); // never reads: the echo's writes back up, and the pipeline stops reading
    const chunk = Buffer.alloc(64 * 1024, 7);
    let maxReserved = 0;
    const measure = () => (maxReserved = Math.max(maxReserved, heldForConnections(pool)));
    // Offer 12.5 MiB; stop offering once nothing has moved for 200 ms (everything is full).
    for (let i = 0; i < 200; i++) {
      if (!peer.write(chunk)) {
        const drained = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => {
            peer.off('drain', onDrain);
            resolve(false);
          }, 200);
          const onDrain = () => {
            clearTimeout(timer);
            resolve(true);
          };
          peer.once('drain', onDrain);
        });
        measure();
        if (!drained) break;
      }
      measure();
    }
    await sleep(100);
    measure();
    // The server took in several times what it holds: it read, echoed into full socket buffers,
    // then stopped reading.
    expect(received()).toBeGreaterThan(2 * 1024 * 1024);
    expect(maxReserved).toBeLessThan(1024 * 1024);
    expect(heldForConnections(pool)).toBeLessThan(1024 * 1024);
    peer.destroy();
    await close();
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
    // Writes until one is held for 'drain' (the connection is above its high-water mark).
    const callbacks: Array<Promise<unknown>> = [];
    for (let i = 0; i < 64; i++) {
      callbacks.push(new Promise((r) => client.write(big, r)));
      await new Promise((r) => setImmediate(r));
      if (client.connection.bufferedBytes > 64 * 1024) break;
    }
    expect(client.connection.bufferedBytes).toBeGreaterThan(64 * 1024);
    client.on('error', () => {});
    client.destroy();
    // Every write's callback runs, the one held for 'drain' too (with an error): none is lost.
    const results = await Promise.all(callbacks);
    expect(results.some((e) => e instanceof Error)).toBe(true);
    if (!client.closed) await new Promise((r) => client.once('close', r));
    expect(client.connection.closed).toBe(true);
    expect(client.connection.bufferedBytes).toBe(0);
    for (const c of accepted) c.destroy();
    await server.close();
    await settle(pool);
    expect(outstanding(pool)).toBe(0);
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
