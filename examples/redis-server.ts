/**
 * A Redis-protocol server on registered I/O: `node examples/dist/redis-server.js [port]` (6390 by
 * default: `redis-cli -p 6390`). PING ECHO SET GET DEL QUIT, COMMAND CONFIG HELLO CLIENT SELECT
 * (what client libraries send on connect), RIOPOOL FOOTPRINT|STATS. Receives land in the pool's
 * shared receive buffers; a request split across receives waits in a ReceiveBuffer (copied once);
 * each receive's replies go out in one lease (a LeaseWriter). After QUIT or a protocol error it
 * replies, stops reading and closes, as redis-server does. bench/redis-servers.ts reuses Session.
 */
import { createPool, createServer, LeaseWriter, ReceiveBuffer, type Lease, type Pool, type PoolOptions } from '@riopool/pool';
import { RespParser } from './resp';

const MAX_BULK = 64 * 1024 * 1024; // the longest value (redis-server's proto-max-bulk-len is 512 MiB)
const latin1 = (s: string) => Buffer.from(s, 'latin1');
const CRLF = latin1('\r\n');
/** A bulk reply, `$<n>\r\n<bytes>\r\n`, of bytes [start, end) of `src`: one allocation, no string. */
function bulk(src: Uint8Array, start = 0, end = src.length): Buffer {
  const n = end - start;
  const digits = n < 10 ? 1 : Math.floor(Math.log10(n)) + 1;
  const out = Buffer.allocUnsafe(digits + n + 5);
  out[0] = 36; // $
  for (let i = digits, v = n; i > 0; i--, v = Math.floor(v / 10)) out[i] = 48 + (v % 10);
  out.set(CRLF, digits + 1);
  out.set(src.subarray(start, end), digits + 3);
  out.set(CRLF, digits + 3 + n);
  return out;
}
const OK = latin1('+OK\r\n');
const HELLO = latin1('*6\r\n$6\r\nserver\r\n$15\r\nriopool-example\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n$5\r\nproto\r\n:2\r\n');
/** Replies that never change, and the arguments a command takes (negative: at least that many). */
const FIXED: Record<string, Buffer> = { COMMAND: latin1('*0\r\n'), CONFIG: latin1('*0\r\n'), CLIENT: OK, SELECT: OK, QUIT: OK };
const ARITY: Record<string, number> = { GET: 2, SET: 3, ECHO: 2, DEL: -2 };
/** Known command names by their bytes, case folded (`nameKey`): no string per request for these. */
function nameKey(b: Uint8Array, start: number, end: number): number {
  let key = 0;
  for (let i = start; i < end; i++) key = key * 256 + (b[i]! | 0x20);
  return key;
}
const NAMES = new Map(['GET', 'SET', 'DEL', 'PING', 'ECHO', 'QUIT', 'HELLO'].map((n) => [nameKey(latin1(n), 0, n.length), n]));

/** Where replies are written (a LeaseWriter here; plain Buffers in the bench's baseline). */
export type Writer<T> = { write(data: Uint8Array | string): void; readonly length: number; take(): T | undefined; release(): void };
/** Keys and values; a value is kept as its whole bulk reply (`$<n>\r\n<bytes>\r\n`): GET is one copy. */
export type Store = Map<string, Buffer>;

/** Runs the request `p` read last, writing its reply into `out`; returns the command's name. */
function execute(p: RespParser, store: Store, out: Writer<unknown>, pool: Pool | undefined): string {
  const arg = (k: number) => bulk(p.source, p.argStart[k], p.argEnd[k]);
  const str = (k: number) => p.source.toString('latin1', p.argStart[k], p.argEnd[k]);
  const [start, end] = [p.argStart[0]!, p.argEnd[0]!];
  const name = (end - start <= 6 && NAMES.get(nameKey(p.source, start, end))) || str(0).toUpperCase();
  const arity = ARITY[name] ?? p.argc;
  if (arity > 0 ? p.argc !== arity : p.argc < -arity) {
    out.write(`-ERR wrong number of arguments for '${name.toLowerCase()}' command\r\n`);
  } else if (name === 'GET') {
    out.write(store.get(str(1)) ?? '$-1\r\n');
  } else if (name === 'SET') {
    store.set(str(1), arg(2));
    out.write(OK);
  } else if (name === 'DEL') {
    let deleted = 0;
    for (let k = 1; k < p.argc; k++) if (store.delete(str(k))) deleted++;
    out.write(`:${deleted}\r\n`);
  } else if (name === 'PING' || name === 'ECHO') {
    out.write(p.argc > 1 ? arg(1) : '+PONG\r\n');
  } else if (name === 'HELLO') {
    out.write(p.argc === 1 || str(1) === '2' ? HELLO : '-NOPROTO sorry, this protocol version is not supported\r\n');
  } else if (name === 'RIOPOOL' && pool !== undefined && p.argc === 2 && /^(FOOTPRINT|STATS)$/i.test(str(1))) {
    out.write(bulk(Buffer.from(JSON.stringify(/STATS/i.test(str(1)) ? pool.stats() : pool.footprint()))));
  } else {
    out.write(FIXED[name] ?? `-ERR unknown command '${name.slice(0, 64).replace(/[^ -~]/g, '?')}'\r\n`);
  }
  return name;
}

/** How replies leave (write keeps its own reference until sent; false: pause until 'drain') and the close. A Connection is one. */
export type SessionIo<T> = { write(reply: T): boolean; pause(): void; end(): void };

/** One client: requests run as they arrive, and each receive's replies go out in one send. */
export class Session<T extends { release(): void }> {
  readonly #pending = new ReceiveBuffer({ maxBytes: MAX_BULK + 1024 * 1024 });
  readonly #parser = new RespParser(MAX_BULK);
  #stopped = false;

  constructor(private readonly to: { store: Store; out: Writer<T>; io: SessionIo<T>; pool?: Pool }) {}

  data(input: Lease | Uint8Array): void {
    if (this.#stopped) {
      if (!(input instanceof Uint8Array)) input.release(); // after QUIT or an error: dropped
      return;
    }
    let bytes: Uint8Array = new Uint8Array(0);
    try {
      bytes = this.#pending.append(input); // throws for a request over maxBytes
    } catch {
      this.to.out.write('-ERR Protocol error: too big request\r\n');
      this.#stopped = true;
    }
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    let at = 0;
    while (at < view.length && !this.#stopped) {
      const p = this.#parser;
      const parsed = p.parse(view, at, view.length);
      if (parsed === 'incomplete') break;
      if (parsed === 'error') this.to.out.write(`-${p.error}\r\n`);
      this.#stopped = parsed === 'error' || (p.argc > 0 && execute(p, this.to.store, this.to.out, this.to.pool) === 'QUIT');
      at = p.next;
    }
    this.#pending.consume(this.#stopped ? this.#pending.length : at);
    if (!this.#stopped && this.#parser.need > 0) this.#pending.reserve(this.#parser.need); // a big value: room at once
    const reply = this.to.out.take();
    const more = reply === undefined || this.to.io.write(reply);
    reply?.release(); // the send holds its own reference until it completes
    if (this.#stopped)
      this.to.io.end(); // the replies queued go first, then the connection closes and close() below runs
    else if (!more) this.to.io.pause();
  }

  readonly close = (): void => {
    this.#pending.release();
    this.to.out.release();
  };
}

/** Listens on `port` (0: any free one); close() ends every connection, then closes the pool. */
export async function startRedisServer(options: { port?: number; host?: string; poolOptions?: PoolOptions } = {}) {
  const pool = createPool(options.poolOptions);
  const store: Store = new Map();
  const server = createServer(pool, {}, (conn) => {
    const session = new Session({ store, out: new LeaseWriter(pool), io: conn, pool });
    conn.on('data', (lease: Lease) => session.data(lease));
    conn.on('drain', () => conn.resume()).on('finish', () => conn.destroy()); // paused until drained; closed once ended
    conn.on('error', () => {}); // a peer's reset: the connection closes on its own
    conn.on('close', session.close);
  });
  const { port } = await server.listen({ port: options.port ?? 6390, host: options.host ?? '127.0.0.1' });
  const close = () => {
    server.closeAllConnections();
    return server.close().then(() => pool.close());
  };
  return { pool, port, server, close };
}

if (require.main === module) {
  void startRedisServer({ port: Number(process.argv[2] ?? 6390) }).then(({ pool, port, close }) => {
    const { io, backend } = pool.stats();
    console.log(`riopool redis example on 127.0.0.1:${port} (io ${io.datapath}, receive ${io.receive}, backend ${backend})`);
    process.on('SIGINT', () => void close()).on('SIGTERM', () => void close());
  });
}
