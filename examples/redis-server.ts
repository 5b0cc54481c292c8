/**
 * A Redis-protocol server on registered I/O: `node examples/dist/redis-server.js [port]` (6390 by
 * default: `redis-cli -p 6390`). PING ECHO SET GET DEL QUIT, COMMAND CONFIG HELLO CLIENT SELECT
 * (what client libraries send on connect), RIOPOOL FOOTPRINT|STATS. Receives land in the pool's
 * shared receive buffers; a request split across receives waits in a ReceiveBuffer (copied once);
 * each receive's replies go out in one lease (a LeaseWriter). After QUIT or a protocol error it
 * replies, stops reading and closes, as redis-server does. Keys are looked up by the bytes received,
 * no string per request (key-store.ts). bench/redis-servers.ts reuses Session.
 */
import { createPool, createServer, LeaseWriter, ReceiveBuffer, type Lease, type Pool, type PoolOptions } from '@riopool/pool';
import { KeyStore } from './key-store';
import { RespParser } from './resp';

const MAX_BULK = 64 * 1024 * 1024; // the longest value (redis-server's proto-max-bulk-len is 512 MiB)
const latin1 = (s: string) => Buffer.from(s, 'latin1');
const EMPTY: Buffer = Buffer.alloc(0);
/** A bulk reply, `$<n>\r\n<bytes>\r\n`, of bytes [start, end) of `src`: one allocation, no string. */
function bulk(src: Buffer, start = 0, end = src.length): Buffer {
  const n = end - start;
  const digits = `${n}`.length;
  const out = Buffer.allocUnsafe(digits + n + 5);
  out[0] = 36; // $
  for (let i = digits, v = n; i > 0; i--, v = Math.floor(v / 10)) out[i] = 48 + (v % 10);
  out[digits + 1] = out[digits + 3 + n] = 13; // CR
  out[digits + 2] = out[digits + 4 + n] = 10; // LF
  src.copy(out, digits + 3, start, end);
  return out;
}
const OK = latin1('+OK\r\n');
const HELLO = latin1('*6\r\n$6\r\nserver\r\n$15\r\nriopool-example\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n$5\r\nproto\r\n:2\r\n');
/** Replies that never change. */
const FIXED: Record<string, Buffer> = { COMMAND: latin1('*0\r\n'), CONFIG: latin1('*0\r\n'), CLIENT: OK, SELECT: OK, QUIT: OK };
/** Known command names by their bytes, case folded (`nameKey`), with the arguments each takes (negative: at least; 0: any). */
const ARITY = { GET: 2, SET: 3, DEL: -2, ECHO: 2, PING: 0, QUIT: 0, HELLO: 0 };
const COMMANDS = new Map(Object.entries(ARITY).map(([name, arity]) => [nameKey(latin1(name)), { name, arity }]));
function nameKey(b: Uint8Array, start = 0, end = b.length): number {
  let key = 0;
  for (let i = start; i < end; i++) key = key * 256 + (b[i]! | 0x20);
  return key;
}
const str = (p: RespParser, k: number) => p.source.toString('latin1', p.argStart[k], p.argEnd[k]);

/** Where replies are written (a LeaseWriter here; plain Buffers in the bench's baseline). */
export type Writer<T> = { write(data: Uint8Array | string): void; readonly length: number; take(): T | undefined; release(): void };
/** Keys by their bytes (key-store.ts); each value kept as its whole bulk reply (`$<n>\r\n<bytes>\r\n`): GET is one copy. */
export { KeyStore };

/** Runs the request `p` read last, writing its reply into `out`; returns the command's name. */
function execute(p: RespParser, store: KeyStore, out: Writer<unknown>, pool: Pool | undefined): string {
  const { source: src, argStart: start, argEnd: end } = p;
  const known = end[0]! - start[0]! <= 6 ? COMMANDS.get(nameKey(src, start[0]!, end[0]!)) : undefined;
  const name = known?.name ?? str(p, 0).toUpperCase();
  const arity = known?.arity || p.argc;
  if (arity > 0 ? p.argc !== arity : p.argc < -arity) {
    out.write(`-ERR wrong number of arguments for '${name.toLowerCase()}' command\r\n`);
  } else if (name === 'GET') {
    out.write(store.get(src, start[1]!, end[1]!) ?? '$-1\r\n');
  } else if (name === 'SET') {
    // A value as long as the one it replaces is written over it (no garbage per SET): a GET's
    // reply is a copy, so no reply sees the bytes change.
    const old = store.get(src, start[1]!, end[1]!);
    const n = end[2]! - start[2]!;
    if (old !== undefined && old.length === `${n}`.length + n + 5)
      src.copy(old, old.length - 2 - n, start[2]!, end[2]!); // the same header
    else store.set(src, start[1]!, end[1]!, bulk(src, start[2], end[2]));
    out.write(OK);
  } else if (name === 'DEL') {
    let deleted = 0;
    for (let k = 1; k < p.argc; k++) if (store.delete(src, start[k]!, end[k]!)) deleted++;
    out.write(`:${deleted}\r\n`);
  } else if (name === 'PING' || name === 'ECHO') {
    out.write(p.argc > 1 ? bulk(src, start[1], end[1]) : '+PONG\r\n');
  } else if (name === 'HELLO') {
    out.write(p.argc === 1 || str(p, 1) === '2' ? HELLO : '-NOPROTO sorry, this protocol version is not supported\r\n');
  } else if (name === 'RIOPOOL' && pool !== undefined && p.argc === 2 && /^(FOOTPRINT|STATS)$/i.test(str(p, 1))) {
    out.write(bulk(Buffer.from(JSON.stringify(/STATS/i.test(str(p, 1)) ? pool.stats() : pool.footprint()))));
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

  constructor(private readonly to: { store: KeyStore; out: Writer<T>; io: SessionIo<T>; pool?: Pool }) {}

  data(input: Lease | Uint8Array): void {
    let view = EMPTY;
    try {
      view = this.#pending.append(input); // throws for a request over maxBytes
    } catch {
      this.to.out.write('-ERR Protocol error: too big request\r\n');
      this.#stopped = true;
    }
    let at = 0;
    while (at < view.length && !this.#stopped) {
      const p = this.#parser;
      const parsed = p.parse(view, at, view.length);
      if (parsed === 'incomplete') break;
      if (parsed === 'error') this.to.out.write(`-${p.error}\r\n`);
      this.#stopped = parsed === 'error' || (p.argc > 0 && execute(p, this.to.store, this.to.out, this.to.pool) === 'QUIT');
      at = p.next;
    }
    this.#pending.consume(this.#stopped ? this.#pending.length : at); // after QUIT or an error: all, unread
    if (!this.#stopped && this.#parser.need > 0) this.#pending.reserve(this.#parser.need); // a big value: room at once
    const reply = this.to.out.take();
    const more = reply === undefined || this.to.io.write(reply);
    reply?.release(); // the send holds its own reference; after QUIT or an error the queued replies go, then the close
    if (this.#stopped) this.to.io.end();
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
  const store = new KeyStore();
  const server = createServer(pool, {}, (conn) => {
    const session = new Session({ store, out: new LeaseWriter(pool), io: conn, pool });
    conn.on('data', (lease: Lease) => session.data(lease));
    conn.on('drain', () => conn.resume()).on('finish', () => conn.destroy()); // paused until drained; closed once ended
    conn.on('error', () => {}).on('close', session.close); // an error (a peer's reset): the connection closes on its own
  });
  const { port } = await server.listen({ port: options.port ?? 6390, host: options.host ?? '127.0.0.1' });
  const close = () => server[Symbol.asyncDispose]().then(() => pool.close()); // connections destroyed, then the pool
  return { pool, port, server, close };
}

if (require.main === module) {
  void startRedisServer({ port: Number(process.argv[2] ?? 6390) }).then(({ pool, port, close }) => {
    const { io, backend } = pool.stats();
    console.log(`riopool redis example on 127.0.0.1:${port} (io ${io.datapath}, receive ${io.receive}, backend ${backend})`);
    process.on('SIGINT', () => void close()).on('SIGTERM', () => void close());
  });
}
