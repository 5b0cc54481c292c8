/**
 * A small Redis-protocol server whose every receive and send buffer comes from a riopool pool.
 *
 * Commands: PING [msg], ECHO msg, SET key value, GET key, DEL key [key ...], QUIT, and for
 * tools and client libraries that ask on connect, COMMAND and CONFIG GET (both answer an empty
 * array), HELLO 2 (HELLO 3 is refused: this server speaks RESP2), CLIENT and SELECT (+OK). Requests may
 * be RESP arrays or inline commands, pipelined. The admin command RIOPOOL FOOTPRINT (or STATS)
 * answers the pool's footprint (or stats) as JSON; SIGUSR2 prints the footprint to stderr.
 *
 * Three ways to move the bytes (option `io`, and `buffers: 'plain'` for the baseline):
 *   uring  registered I/O: createServer on the pool's ring; every receive and send is an io_uring
 *          fixed-buffer operation on a pool lease (falls back to net, with the reason in
 *          RIOPOOL STATS, where io_uring cannot run)
 *   net    node:net reading straight into pool leases (adoptSocket + leaseReader), replies sent
 *          with writeLease
 *   plain  node:net with Node's own read buffers and Buffer.allocUnsafe replies
 * A command split across reads is carried in a pool lease too. The replies to one read are
 * written into one lease and sent with one write, which holds it until sent. When the peer does
 * not read its replies, the server stops reading its requests (pause until 'drain').
 *
 *   node examples/dist/redis-server.js [port] [uring|net|plain]     (default 6390, uring)
 */
import * as net from 'node:net';
import {
  createPool,
  createServer,
  adoptSocket,
  leaseReader,
  writeLease,
  type Connection,
  type Pool,
  type Lease,
  type PoolOptions,
} from '@riopool/pool';

const CR = 13;
const LF = 10;
/** The longest request the server accepts (one bulk string or inline line). */
const MAX_REQUEST = 16 * 1024 * 1024;

/** Bytes the server works in: a pool Lease, or (plain mode) a Buffer with a no-op release. */
interface Bytes {
  readonly bytes: Uint8Array;
  readonly length: number;
  release(): void;
}
type Alloc = (n: number) => Bytes;

const plainAlloc: Alloc = (n) => ({ bytes: Buffer.allocUnsafe(n), length: n, release() {} });

/** Replies to one batch of requests, written into one buffer that grows by doubling. */
class ReplyWriter {
  lease: Bytes;
  pos = 0;
  constructor(
    private readonly alloc: Alloc,
    size: number,
  ) {
    this.lease = alloc(size);
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.lease.length) return;
    const bigger = this.alloc(Math.max(this.lease.length * 2, this.pos + n));
    bigger.bytes.set(this.lease.bytes.subarray(0, this.pos));
    this.lease.release();
    this.lease = bigger;
  }
  ascii(s: string): void {
    this.ensure(s.length);
    const b = this.lease.bytes;
    for (let i = 0; i < s.length; i++) b[this.pos++] = s.charCodeAt(i);
  }
  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.lease.bytes.set(bytes, this.pos);
    this.pos += bytes.length;
  }
  simple(s: string): void {
    if (s === 'OK') this.raw(OK);
    else this.ascii(`+${s}\r\n`);
  }
  error(s: string): void {
    this.ascii(`-${s}\r\n`);
  }
  integer(n: number): void {
    this.ascii(`:${n}\r\n`);
  }
  bulk(bytes: Uint8Array | null): void {
    if (bytes === null) {
      this.raw(NULL_BULK);
      return;
    }
    this.ascii(`$${bytes.length}\r\n`);
    this.raw(bytes);
    this.ascii('\r\n');
  }
}

type Parsed = { args: Uint8Array[]; next: number } | 'incomplete' | { error: string };

/** Where readLine stopped: the index after the line's CR LF (a module variable: no array per line). */
let lineNext = 0;

/**
 * Reads a decimal integer line starting at i (after the type byte): returns its value (NaN for
 * a byte that is not a digit) and sets lineNext, or returns null when the line is incomplete.
 */
function readLine(buf: Uint8Array, i: number, end: number): number | null {
  let n = 0;
  let neg = false;
  if (i < end && buf[i] === 45 /* - */) {
    neg = true;
    i++;
  }
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c === CR) {
      if (i + 1 >= end) return null;
      lineNext = i + 2;
      return neg ? -n : n;
    }
    if (c < 48 || c > 57) {
      lineNext = i;
      return NaN;
    }
    n = n * 10 + (c - 48);
  }
  return null;
}

/** Parses one request at `start`. Args are views into `buf`: valid until its lease is released. */
function parseRequest(buf: Uint8Array, start: number, end: number): Parsed {
  if (buf[start] === 42 /* * */) {
    const count = readLine(buf, start + 1, end);
    if (count === null) return 'incomplete';
    const afterHead = lineNext;
    if (!Number.isInteger(count) || count < 0 || count > 1024 * 1024) return { error: 'ERR Protocol error: invalid multibulk length' };
    const args: Uint8Array[] = [];
    let i = afterHead;
    for (let k = 0; k < count; k++) {
      if (i >= end) return 'incomplete';
      if (buf[i] !== 36 /* $ */) return { error: "ERR Protocol error: expected '$'" };
      const len = readLine(buf, i + 1, end);
      if (len === null) return 'incomplete';
      const afterLen = lineNext;
      if (!Number.isInteger(len) || len < 0 || len > MAX_REQUEST) return { error: 'ERR Protocol error: invalid bulk length' };
      if (afterLen + len + 2 > end) return 'incomplete';
      args.push(buf.subarray(afterLen, afterLen + len));
      i = afterLen + len + 2;
    }
    return { args, next: i };
  }
  // Inline command: one line, words separated by spaces.
  for (let i = start; i < end; i++) {
    if (buf[i] === LF) {
      const lineEnd = i > start && buf[i - 1] === CR ? i - 1 : i;
      const args: Uint8Array[] = [];
      let w = start;
      for (let j = start; j <= lineEnd; j++) {
        if (j === lineEnd || buf[j] === 32) {
          if (j > w) args.push(buf.subarray(w, j));
          w = j + 1;
        }
      }
      return { args, next: i + 1 };
    }
  }
  return end - start > MAX_REQUEST ? { error: 'ERR Protocol error: too big inline request' } : 'incomplete';
}

const ascii = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/** True when the bytes spell `name` (upper case ASCII), in any case: no string is made. */
function isCommand(b: Uint8Array, name: string): boolean {
  if (b.length !== name.length) return false;
  for (let i = 0; i < b.length; i++) if ((b[i]! & 0xdf) !== name.charCodeAt(i)) return false;
  return true;
}

const OK = Buffer.from('+OK\r\n');
const NULL_BULK = Buffer.from('$-1\r\n');

export interface RedisServer {
  pool: Pool;
  /** How bytes move: 'uring' (registered I/O), 'net' (node:net on pool buffers) or 'plain'. */
  io: 'uring' | 'net' | 'plain';
  port: number;
  /** Connections open now. */
  readonly connections: number;
  /** Stops listening, ends every connection and closes the pool. */
  close(): Promise<void>;
}

export interface RedisServerOptions {
  port?: number;
  host?: string;
  /**
   * Bytes per receive lease; default 16 KiB. Smaller reads split pipelined batches (4 KiB made
   * SET 0.72x plain Buffers, 16 KiB 1.14x; bench/server-throughput.ts, READ_SIZE=...).
   */
  readSize?: number;
  /**
   * 'pool' (default): every receive and send buffer is a pool lease. 'plain': Node's own read
   * buffers and Buffer.allocUnsafe replies, the baseline for bench/server-throughput.ts.
   */
  buffers?: 'pool' | 'plain';
  /** With pool buffers: 'uring' (default; registered I/O on the pool's ring) or 'net'. */
  io?: 'uring' | 'net';
  pool?: Pool;
  poolOptions?: PoolOptions;
}

export function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const pool = options.pool ?? createPool(options.poolOptions);
  const readSize = options.readSize ?? 16384;
  const plain = options.buffers === 'plain';
  const io = plain ? 'plain' : (options.io ?? 'uring');
  const alloc: Alloc = plain ? plainAlloc : (n) => pool.acquire(n);
  const store = new Map<string, Buffer>();

  function execute(args: Uint8Array[], out: ReplyWriter): 'quit' | void {
    if (args.length === 0) return;
    // The two commands a cache serves most, matched on bytes; the rest below.
    const first = args[0]!;
    if (args.length === 2 && isCommand(first, 'GET')) return out.bulk(store.get(ascii(args[1]!)) ?? null);
    if (args.length === 3 && isCommand(first, 'SET')) {
      store.set(ascii(args[1]!), Buffer.from(args[2]!)); // the value outlives the receive lease: copy it
      return out.simple('OK');
    }
    const name = ascii(args[0]!).toUpperCase();
    switch (name) {
      case 'PING':
        if (args.length === 1) out.simple('PONG');
        else if (args.length === 2) out.bulk(args[1]!);
        else out.error("ERR wrong number of arguments for 'ping' command");
        return;
      case 'ECHO':
        if (args.length !== 2) return out.error("ERR wrong number of arguments for 'echo' command");
        return out.bulk(args[1]!);
      case 'SET':
        if (args.length !== 3) return out.error(args.length < 3 ? "ERR wrong number of arguments for 'set' command" : 'ERR syntax error');
        store.set(ascii(args[1]!), Buffer.from(args[2]!)); // the value outlives the receive lease: copy it
        return out.simple('OK');
      case 'GET':
        if (args.length !== 2) return out.error("ERR wrong number of arguments for 'get' command");
        return out.bulk(store.get(ascii(args[1]!)) ?? null);
      case 'DEL': {
        if (args.length < 2) return out.error("ERR wrong number of arguments for 'del' command");
        let n = 0;
        for (let i = 1; i < args.length; i++) if (store.delete(ascii(args[i]!))) n++;
        return out.integer(n);
      }
      case 'COMMAND':
      case 'CONFIG':
        return out.ascii('*0\r\n');
      case 'HELLO': {
        // Clients that speak RESP3 first ask with HELLO; this server speaks RESP2 only.
        const proto = args.length > 1 ? ascii(args[1]!) : '2';
        if (proto !== '2') return out.error('NOPROTO sorry, this protocol version is not supported');
        out.ascii('*14\r\n');
        for (const [k, v] of [
          ['server', 'riopool-example'],
          ['version', '7.0.0'],
        ]) {
          out.bulk(Buffer.from(k!));
          out.bulk(Buffer.from(v!));
        }
        out.bulk(Buffer.from('proto'));
        out.integer(2);
        out.bulk(Buffer.from('id'));
        out.integer(1);
        for (const [k, v] of [
          ['mode', 'standalone'],
          ['role', 'master'],
        ]) {
          out.bulk(Buffer.from(k!));
          out.bulk(Buffer.from(v!));
        }
        out.bulk(Buffer.from('modules'));
        return out.ascii('*0\r\n');
      }
      case 'CLIENT':
      case 'SELECT':
        // CLIENT SETINFO / SETNAME, SELECT 0: what client libraries send on connect.
        return out.simple('OK');
      case 'QUIT':
        out.simple('OK');
        return 'quit';
      case 'RIOPOOL': {
        const sub = args.length > 1 ? ascii(args[1]!).toUpperCase() : '';
        if (sub === 'FOOTPRINT') return out.bulk(Buffer.from(JSON.stringify(pool.footprint())));
        if (sub === 'STATS') return out.bulk(Buffer.from(JSON.stringify(pool.stats())));
        return out.error('ERR RIOPOOL takes FOOTPRINT or STATS');
      }
      default:
        return out.error(`ERR unknown command '${name.slice(0, 64)}'`);
    }
  }

  /**
   * One client's requests: `onData(bytes, nread)` takes each read (and owns it), parses what is
   * complete, and hands the replies to `send`, which returns false to ask for a pause.
   */
  function session(send: (out: Bytes, n: number) => boolean, end: () => void, pause: () => void) {
    let pending: Bytes | null = null; // bytes of a request split across reads
    let pendingLength = 0;
    const onData = (lease: Bytes, nread: number): void => {
      let owner = lease;
      let length = nread;
      if (pending !== null) {
        length = pendingLength + nread;
        owner = alloc(length);
        owner.bytes.set(pending.bytes.subarray(0, pendingLength));
        owner.bytes.set(lease.bytes.subarray(0, nread), pendingLength);
        pending.release();
        lease.release();
        pending = null;
      }
      const data = owner.bytes;
      const out = new ReplyWriter(alloc, 4096);
      let at = 0;
      let quit = false;
      while (at < length && !quit) {
        const parsed = parseRequest(data, at, length);
        if (parsed === 'incomplete') break;
        if ('error' in parsed) {
          out.error(parsed.error);
          quit = true;
          break;
        }
        at = parsed.next;
        quit = execute(parsed.args, out) === 'quit';
      }
      if (at < length && !quit) {
        pendingLength = length - at;
        pending = alloc(pendingLength);
        pending.bytes.set(data.subarray(at, length));
      }
      owner.release();
      const more = out.pos > 0 ? send(out.lease, out.pos) : true;
      out.lease.release(); // the write holds its own reference until it completes
      if (quit) end();
      else if (!more) pause();
    };
    const dispose = () => {
      pending?.release();
      pending = null;
    };
    return { onData, dispose };
  }

  const closers = new Set<() => void>();

  if (io === 'uring') {
    const server = createServer(pool, { datapath: 'auto', receiveSize: readSize }, (conn: Connection) => {
      const s = session(
        (out, n) => conn.write(out as Lease, n),
        () => conn.end(),
        () => {
          conn.pause();
          conn.once('drain', () => conn.resume());
        },
      );
      conn.on('data', s.onData);
      conn.on('error', () => conn.destroy());
      const destroy = () => conn.destroy();
      closers.add(destroy);
      conn.on('close', () => {
        closers.delete(destroy);
        s.dispose();
      });
    });
    return server.listen({ port: options.port ?? 6390, host: options.host ?? '127.0.0.1' }).then(({ port }) => ({
      pool,
      io: pool.stats().io.datapath === 'uring' ? 'uring' : 'net',
      port,
      get connections() {
        return server.connections;
      },
      close: async () => {
        for (const c of closers) c();
        await server.close();
        await pool.close();
      },
    }));
  }

  function serve(accepted: net.Socket): void {
    let socket: net.Socket;
    const s = session(
      (out, n) => {
        if (plain) return socket.write(out.bytes.subarray(0, n));
        return writeLease(socket, out as Lease, n);
      },
      () => socket.end(),
      () => {
        socket.pause();
        socket.once('drain', () => socket.resume());
      },
    );
    if (plain) {
      socket = accepted;
      socket.on('data', (chunk: Buffer) => s.onData({ bytes: chunk, length: chunk.length, release() {} }, chunk.length));
      socket.resume();
    } else {
      socket = adoptSocket(accepted, leaseReader(pool, readSize, s.onData));
    }
    // Replies to a request split across reads go out in more than one write: without
    // TCP_NODELAY, Nagle holds the second until the client's delayed ACK (as Redis does, set it).
    socket.setNoDelay(true);
    const destroy = () => socket.destroy();
    closers.add(destroy);
    socket.on('error', () => socket.destroy());
    socket.on('end', () => socket.end());
    socket.on('close', () => {
      closers.delete(destroy);
      s.dispose();
    });
  }

  const server = net.createServer({ pauseOnConnect: true }, serve);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 6390, options.host ?? '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        pool,
        io: plain ? 'plain' : 'net',
        port,
        get connections() {
          return closers.size;
        },
        close: async () => {
          await new Promise<void>((r) => {
            server.close(() => r());
            for (const c of closers) c();
          });
          await pool.close();
        },
      });
    });
  });
}

if (require.main === module) {
  const port = Number(process.argv[2] ?? 6390);
  const mode = process.argv[3] ?? 'uring';
  if (mode !== 'uring' && mode !== 'net' && mode !== 'plain') {
    console.error('usage: redis-server [port] [uring|net|plain]');
    process.exit(2);
  }
  const buffers = mode === 'plain' ? 'plain' : 'pool';
  startRedisServer({ port, buffers, ...(mode === 'plain' ? {} : { io: mode }) }).then((s) => {
    const io = s.pool.stats().io;
    console.log(
      `riopool redis example on 127.0.0.1:${s.port} (io ${s.io}${s.io === 'net' && mode === 'uring' ? `: ${io.reason}` : ''}, backend ${s.pool.stats().backend}); SIGUSR2 prints the footprint`,
    );
    process.on('SIGUSR2', () => console.error(JSON.stringify(s.pool.footprint(), null, 2)));
    const stop = () => void s.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
