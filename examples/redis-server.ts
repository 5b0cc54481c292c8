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
 *   stream registered I/O through toDuplex (node:stream): the same ring, with a copy from each
 *          receive lease into a Buffer and from each reply into a lease (what code that wants
 *          streams pays)
 * A command split across reads is carried in a pool lease too. The replies to one read are
 * written into one lease and sent with one write, which holds it until sent. When the peer does
 * not read its replies, the server stops reading its requests (pause until 'drain').
 *
 *   node examples/dist/redis-server.js [port] [uring|net|plain|stream]     (default 6390, uring)
 */
import * as net from 'node:net';
import {
  createPool,
  createServer,
  toDuplex,
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
  /** lease.bytes, read once per buffer (a lease's getter checks that it is live). */
  bytes: Uint8Array;
  pos = 0;
  constructor(
    private readonly alloc: Alloc,
    size: number,
  ) {
    this.lease = alloc(size);
    this.bytes = this.lease.bytes;
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.bytes.length) return;
    const bigger = this.alloc(Math.max(this.lease.length * 2, this.pos + n));
    bigger.bytes.set(this.bytes.subarray(0, this.pos));
    this.lease.release();
    this.lease = bigger;
    this.bytes = bigger.bytes;
  }
  ascii(s: string): void {
    this.ensure(s.length);
    const b = this.bytes;
    for (let i = 0; i < s.length; i++) b[this.pos++] = s.charCodeAt(i);
  }
  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.bytes.set(bytes, this.pos);
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

/*
 * The parser leaves what it read in module variables, so a request costs no object and no view
 * per argument: argument k is bytes [argStart[k], argEnd[k]) of the buffer it parsed.
 */
const argStart: number[] = [];
const argEnd: number[] = [];
let argCount = 0;
/** parseRequest's results other than the index after the request. */
const INCOMPLETE = -1;
const PROTOCOL_ERROR = -2;
/** Why parseRequest returned PROTOCOL_ERROR. */
let protocolError = '';

/** Where readLine stopped: the index after the line's CR LF. */
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

function fail(message: string): number {
  protocolError = message;
  return PROTOCOL_ERROR;
}

/**
 * Parses one request at `start`: returns the index after it (its arguments in argStart / argEnd /
 * argCount), INCOMPLETE, or PROTOCOL_ERROR (the reason in protocolError).
 */
function parseRequest(buf: Uint8Array, start: number, end: number): number {
  argCount = 0;
  if (buf[start] === 42 /* * */) {
    const count = readLine(buf, start + 1, end);
    if (count === null) return INCOMPLETE;
    if (!Number.isInteger(count) || count < 0 || count > 1024 * 1024) return fail('ERR Protocol error: invalid multibulk length');
    let i = lineNext;
    for (let k = 0; k < count; k++) {
      if (i >= end) return INCOMPLETE;
      if (buf[i] !== 36 /* $ */) return fail("ERR Protocol error: expected '$'");
      const len = readLine(buf, i + 1, end);
      if (len === null) return INCOMPLETE;
      if (!Number.isInteger(len) || len < 0 || len > MAX_REQUEST) return fail('ERR Protocol error: invalid bulk length');
      const at = lineNext;
      if (at + len + 2 > end) return INCOMPLETE;
      argStart[k] = at;
      argEnd[k] = at + len;
      i = at + len + 2;
    }
    argCount = count;
    return i;
  }
  // Inline command: one line, words separated by spaces.
  for (let i = start; i < end; i++) {
    if (buf[i] === LF) {
      const lineEnd = i > start && buf[i - 1] === CR ? i - 1 : i;
      let w = start;
      for (let j = start; j <= lineEnd; j++) {
        if (j === lineEnd || buf[j] === 32) {
          if (j > w) {
            argStart[argCount] = w;
            argEnd[argCount++] = j;
          }
          w = j + 1;
        }
      }
      return i + 1;
    }
  }
  return end - start > MAX_REQUEST ? fail('ERR Protocol error: too big inline request') : INCOMPLETE;
}

/** Argument k of the last request, as a string (one byte per character) or as a view. */
const argString = (data: Buffer, k: number) => data.toString('latin1', argStart[k], argEnd[k]);
const argBytes = (data: Buffer, k: number) => data.subarray(argStart[k], argEnd[k]);

/** True when argument k spells `name` (upper case ASCII), in any case: no string is made. */
function argIs(data: Uint8Array, k: number, name: string): boolean {
  const s = argStart[k]!;
  if (argEnd[k]! - s !== name.length) return false;
  for (let i = 0; i < name.length; i++) if ((data[s + i]! & 0xdf) !== name.charCodeAt(i)) return false;
  return true;
}

/** The bytes as a Buffer (one view per read, for Buffer's string and copy methods). */
const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** A value as the store keeps it: its whole bulk reply (`$<length>\r\n<bytes>\r\n`), so GET is one copy. */
function bulkReply(data: Buffer, start: number, end: number): Buffer {
  const head = `$${end - start}\r\n`;
  const reply = Buffer.allocUnsafe(head.length + (end - start) + 2);
  reply.write(head, 0, 'latin1');
  data.copy(reply, head.length, start, end);
  reply[reply.length - 2] = CR;
  reply[reply.length - 1] = LF;
  return reply;
}

const OK = Buffer.from('+OK\r\n');
const NULL_BULK = Buffer.from('$-1\r\n');

export interface RedisServer {
  pool: Pool;
  /**
   * How bytes move: 'uring' (registered I/O), 'stream' (registered I/O through toDuplex), 'net'
   * (node:net on pool buffers) or 'plain'.
   */
  io: 'uring' | 'stream' | 'net' | 'plain';
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
  /**
   * With pool buffers: 'uring' (default; registered I/O on the pool's ring), 'stream' (the same
   * through toDuplex: Buffers in and out, copied) or 'net'.
   */
  io?: 'uring' | 'stream' | 'net';
  pool?: Pool;
  poolOptions?: PoolOptions;
}

export function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const pool = options.pool ?? createPool(options.poolOptions);
  const readSize = options.readSize ?? 16384;
  const plain = options.buffers === 'plain';
  const io = plain ? 'plain' : (options.io ?? 'uring');
  // Streams take and give Buffers: in 'stream' mode the example works in plain Buffers too.
  const alloc: Alloc = plain || io === 'stream' ? plainAlloc : (n) => pool.acquire(n);
  /** Key -> the value's whole bulk reply (bulkReply). */
  const store = new Map<string, Buffer>();

  /** Runs the request parseRequest read last (its arguments are in `data`). */
  function execute(data: Buffer, out: ReplyWriter): 'quit' | void {
    const argc = argCount;
    if (argc === 0) return;
    // The two commands a cache serves most, matched on bytes; the rest below.
    if (argc === 2 && argIs(data, 0, 'GET')) return out.raw(store.get(argString(data, 1)) ?? NULL_BULK);
    if (argc === 3 && argIs(data, 0, 'SET')) {
      // The value outlives the receive buffer: the store keeps a copy, as its bulk reply.
      store.set(argString(data, 1), bulkReply(data, argStart[2]!, argEnd[2]!));
      return out.simple('OK');
    }
    const name = argString(data, 0).toUpperCase();
    switch (name) {
      case 'PING':
        if (argc === 1) out.simple('PONG');
        else if (argc === 2) out.bulk(argBytes(data, 1));
        else out.error("ERR wrong number of arguments for 'ping' command");
        return;
      case 'ECHO':
        if (argc !== 2) return out.error("ERR wrong number of arguments for 'echo' command");
        return out.bulk(argBytes(data, 1));
      case 'SET':
        return out.error(argc < 3 ? "ERR wrong number of arguments for 'set' command" : 'ERR syntax error');
      case 'GET':
        return out.error("ERR wrong number of arguments for 'get' command");
      case 'DEL': {
        if (argc < 2) return out.error("ERR wrong number of arguments for 'del' command");
        let n = 0;
        for (let k = 1; k < argc; k++) if (store.delete(argString(data, k))) n++;
        return out.integer(n);
      }
      case 'COMMAND':
      case 'CONFIG':
        return out.ascii('*0\r\n');
      case 'HELLO': {
        // Clients that speak RESP3 first ask with HELLO; this server speaks RESP2 only.
        const proto = argc > 1 ? argString(data, 1) : '2';
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
        const sub = argc > 1 ? argString(data, 1).toUpperCase() : '';
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
      const data = asBuffer(owner.bytes);
      const out = new ReplyWriter(alloc, 4096);
      let at = 0;
      let quit = false;
      while (at < length && !quit) {
        const next = parseRequest(data, at, length);
        if (next === INCOMPLETE) break;
        if (next === PROTOCOL_ERROR) {
          out.error(protocolError);
          quit = true;
          break;
        }
        at = next;
        quit = execute(data, out) === 'quit';
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

  if (io === 'uring' || io === 'stream') {
    const server = createServer(pool, { datapath: 'auto', receiveSize: readSize }, (conn: Connection) => {
      const destroy = () => conn.destroy();
      closers.add(destroy);
      if (io === 'stream') {
        const stream = toDuplex(conn);
        const s = session(
          (out, n) => stream.write(out.bytes.subarray(0, n)),
          () => stream.end(),
          () => {
            stream.pause();
            stream.once('drain', () => stream.resume());
          },
        );
        stream.on('data', (chunk: Buffer) => s.onData({ bytes: chunk, length: chunk.length, release() {} }, chunk.length));
        stream.on('error', () => {});
        stream.on('close', () => {
          closers.delete(destroy);
          s.dispose();
        });
        return;
      }
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
      conn.on('close', () => {
        closers.delete(destroy);
        s.dispose();
      });
    });
    return server.listen({ port: options.port ?? 6390, host: options.host ?? '127.0.0.1' }).then(({ port }) => ({
      pool,
      io: pool.stats().io.datapath !== 'uring' ? 'net' : io,
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
  if (mode !== 'uring' && mode !== 'net' && mode !== 'plain' && mode !== 'stream') {
    console.error('usage: redis-server [port] [uring|net|plain|stream]');
    process.exit(2);
  }
  const buffers = mode === 'plain' ? 'plain' : 'pool';
  startRedisServer({ port, buffers, ...(mode === 'plain' ? {} : { io: mode }) }).then((s) => {
    const io = s.pool.stats().io;
    console.log(
      `riopool redis example on 127.0.0.1:${s.port} (io ${s.io}${s.io === 'net' && mode !== 'net' ? `: ${io.reason}` : ''}, backend ${s.pool.stats().backend}); SIGUSR2 prints the footprint`,
    );
    process.on('SIGUSR2', () => console.error(JSON.stringify(s.pool.footprint(), null, 2)));
    const stop = () => void s.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
