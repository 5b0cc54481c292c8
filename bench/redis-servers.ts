/**
 * The example Redis server's Session (examples/redis-server.ts) over the other ways to move the
 * bytes, for bench/server-throughput.ts to put side by side with it:
 *
 *   plain   node:net with Node's own read buffers, replies in Buffer.allocUnsafe (the baseline)
 *   net     node:net reading straight into pool leases (adoptSocket + leaseReader), replies
 *           written into leases and sent with writeLease
 *   stream  registered I/O through toDuplex (node:stream): the pool's ring, with a copy from each
 *           receive into a Buffer and from each reply into a lease (what code that wants streams pays)
 *
 *   node bench/dist/redis-servers.js <port> <plain|net|stream>
 */
import * as net from 'node:net';
import {
  adoptSocket,
  createPool,
  createServer,
  LeaseWriter,
  leaseReader,
  toDuplex,
  writeLease,
  type Lease,
  type Pool,
} from '@riopool/pool';
import { KeyStore, Session, type SessionIo, type Writer } from '@riopool/examples/redis-server';

export type Mode = 'plain' | 'net' | 'stream';

export interface BenchServer {
  mode: Mode;
  port: number;
  /** The pool, for the modes that have one. */
  pool: Pool | undefined;
  readonly connections: number;
  close(): Promise<void>;
}

/** A reply in plain memory (nothing to release). */
type Plain = { bytes: Buffer; release(): void };

/** The Session's Writer over Buffer.allocUnsafe, as a server without riopool would write replies. */
class PlainWriter implements Writer<Plain> {
  #bytes = Buffer.allocUnsafe(4096);
  length = 0;
  write(data: Uint8Array | string): void {
    const n = typeof data === 'string' ? Buffer.byteLength(data, 'latin1') : data.length;
    if (this.length + n > this.#bytes.length) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * this.#bytes.length, this.length + n));
      this.#bytes.copy(bigger, 0, 0, this.length);
      this.#bytes = bigger;
    }
    if (typeof data === 'string') this.#bytes.write(data, this.length, 'latin1');
    else this.#bytes.set(data, this.length);
    this.length += n;
  }
  take(): Plain | undefined {
    if (this.length === 0) return undefined;
    const reply = { bytes: this.#bytes.subarray(0, this.length), release() {} };
    this.#bytes = Buffer.allocUnsafe(4096); // the socket keeps the last one until written
    this.length = 0;
    return reply;
  }
  release(): void {
    this.length = 0;
  }
}

/** Pauses `source` until `drain`, as the example does with its connection. */
function backpressure(source: { pause(): void; resume(): void }, drain: { once(e: 'drain', f: () => void): unknown }): void {
  source.pause();
  drain.once('drain', () => source.resume());
}

export async function startBenchServer(mode: Mode, port = 0): Promise<BenchServer> {
  const store = new KeyStore();
  const sockets = new Set<{ destroy(): void }>();
  const track = <T extends { destroy(): void; once(e: 'close', f: () => void): unknown }>(s: T): T => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    return s;
  };
  if (mode === 'stream') {
    const pool = createPool();
    const server = createServer(pool, {}, (conn) => {
      const stream = track(toDuplex(conn));
      const io: SessionIo<Plain> = {
        write: (reply) => stream.write(reply.bytes),
        pause: () => backpressure(stream, stream),
        end: () => stream.end(),
      };
      const session = new Session({ store, out: new PlainWriter(), io, pool });
      stream.on('data', (chunk: Buffer) => session.data(chunk));
      stream.on('error', () => {});
      stream.on('close', session.close);
    });
    const address = await server.listen({ port });
    const close = async () => {
      server.closeAllConnections();
      await server.close();
      await pool.close();
    };
    return {
      mode,
      port: address.port,
      pool,
      close,
      get connections() {
        return server.connections;
      },
    };
  }
  const pool = mode === 'net' ? createPool() : undefined;
  const server = net.createServer({ pauseOnConnect: true }, (accepted) => {
    let socket = accepted;
    const io = {
      pause: () => backpressure(socket, socket),
      end: () => void socket.end(),
    };
    if (pool === undefined) {
      const session = new Session({ store, out: new PlainWriter(), io: { ...io, write: (reply: Plain) => socket.write(reply.bytes) } });
      socket.on('data', (chunk: Buffer) => session.data(chunk));
      socket.on('close', session.close);
      socket.resume();
    } else {
      const session = new Session({
        store,
        out: new LeaseWriter(pool),
        io: { ...io, write: (reply: Lease) => writeLease(socket, reply) },
        pool,
      });
      // Each read lands in a lease of 16 KiB; the session gets exactly the bytes read.
      const reader = leaseReader(pool, 16 * 1024, (lease: Lease, nread) => {
        const read = lease.slice(0, nread);
        lease.release();
        session.data(read);
      });
      socket = adoptSocket(accepted, reader);
      socket.on('close', session.close);
    }
    // Replies to a request split across reads go out in more than one write: without
    // TCP_NODELAY, Nagle holds the second until the client's delayed ACK (redis-server sets it).
    socket.setNoDelay(true);
    track(socket);
    socket.on('error', () => socket.destroy());
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    await pool?.close();
  };
  return {
    mode,
    port: (server.address() as net.AddressInfo).port,
    pool,
    close,
    get connections() {
      return sockets.size;
    },
  };
}

if (require.main === module) {
  const mode = process.argv[3] as Mode;
  if (mode !== 'plain' && mode !== 'net' && mode !== 'stream') {
    console.error('usage: redis-servers <port> <plain|net|stream>');
    process.exit(2);
  }
  void startBenchServer(mode, Number(process.argv[2] ?? 0)).then((s) => {
    // The same line as the example's, which bench/server-throughput.ts reads.
    console.log(`riopool redis example on 127.0.0.1:${s.port} (io ${mode})`);
    const stop = () => void s.close().then(() => process.exit(0));
    process.on('SIGINT', stop).on('SIGTERM', stop);
  });
}
