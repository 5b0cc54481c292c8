/**
 * A Redis-protocol server on registered I/O: `node examples/dist/redis-server.js [port]` (6390 by
 * default: `redis-cli -p 6390`). Point ioredis or node-redis at it with their default options.
 *
 * Commands, answered as redis-server 7.2 answers them (the tests compare with a real one):
 *   strings   GET SET (EX PX EXAT PXAT KEEPTTL NX XX GET) MGET MSET INCR DECR INCRBY DECRBY
 *   keys      DEL EXISTS EXPIRE PEXPIRE (NX XX GT LT) TTL PTTL PERSIST DBSIZE FLUSHDB FLUSHALL
 *   session   PING ECHO QUIT HELLO (RESP2 and RESP3) CLIENT (SETINFO SETNAME GETNAME ID) SELECT 0
 *   server    INFO COMMAND CONFIG (empty answers, for the tools that ask), RIOPOOL FOOTPRINT|STATS
 * One database: SELECT of any other answers "DB index is out of range", as a redis-server with
 * `databases 1` does. Keys expire as redis-server's do: gone for every command once their time
 * has passed, and swept from memory in the background.
 *
 * How the bytes move: receives land in the pool's shared receive buffers; a request split across
 * receives waits in a ReceiveBuffer (copied once); each receive's replies go out in one lease (a
 * LeaseWriter). After QUIT or a protocol error it replies, stops reading and closes, as
 * redis-server does. Keys are looked up by the bytes received, with no string per request, in a
 * tuned table of its own (key-store.ts); values are kept as their whole bulk reply
 * (`$<n>\r\n<bytes>\r\n`), so a GET is one copy. bench/redis-servers.ts reuses Session.
 */
import { createPool, createServer, LeaseWriter, ReceiveBuffer, type Lease, type Pool, type PoolOptions } from '@riopool/pool';
import { KeyStore } from './key-store';
import { RespParser } from './resp';

export { KeyStore };

const MAX_BULK = 64 * 1024 * 1024; // the longest value (redis-server's proto-max-bulk-len is 512 MiB)
const VERSION = '7.2.0'; // the redis-server whose answers these are (CLIENT SETINFO came in 7.2)
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const latin1 = (s: string) => Buffer.from(s, 'latin1');
const EMPTY: Buffer = Buffer.alloc(0);

// ---------------------------------------------------------------------------------------------
// Replies

const OK = latin1('+OK\r\n');
const NOT_AN_INTEGER = '-ERR value is not an integer or out of range\r\n';
const SYNTAX_ERROR = '-ERR syntax error\r\n';

/**
 * Copies src[start, end) into dst at `at`. Buffer's copy() crosses into C++ for every call, which
 * cost a SET more than the rest of its work; a typed array's set() is a builtin.
 */
function copyBytes(src: Buffer, start: number, end: number, dst: Uint8Array, at: number): void {
  dst.set(new Uint8Array(src.buffer, src.byteOffset + start, end - start), at);
}

/** A bulk reply, `$<n>\r\n<bytes>\r\n`, of bytes [start, end) of `src`: one allocation, no string. */
function bulk(src: Buffer, start = 0, end = src.length): Buffer {
  const n = end - start;
  const digits = digitsOf(n);
  const out = Buffer.allocUnsafe(digits + n + 5);
  out[0] = 36; // $
  for (let i = digits, v = n; i > 0; i--, v = Math.floor(v / 10)) out[i] = 48 + (v % 10);
  out[digits + 1] = out[digits + 3 + n] = 13; // CR
  out[digits + 2] = out[digits + 4 + n] = 10; // LF
  copyBytes(src, start, end, out, digits + 3);
  return out;
}

/** The bytes a stored value (a bulk reply) holds, after its `$<n>\r\n`. */
const storedBytes = (stored: Buffer) => stored.subarray(stored.indexOf(10) + 1, stored.length - 2);

// ---------------------------------------------------------------------------------------------
// One request

/** Where replies are written (a LeaseWriter here; plain Buffers in the bench's baseline). */
export type Writer<T> = { write(data: Uint8Array | string): void; readonly length: number; take(): T | undefined; release(): void };

/** What a command sees: the request's arguments, the session's state, the store, where to reply. */
interface Call {
  readonly p: RespParser;
  readonly store: KeyStore;
  readonly out: Writer<unknown>;
  readonly pool: Pool | undefined;
  readonly server: ServerInfo;
  /** The connection's number (CLIENT ID, HELLO). */
  readonly id: number;
  /** The protocol the client asked for with HELLO. */
  resp: 2 | 3;
  name: string | undefined;
  /** Set by QUIT: reply, then close. */
  quit: boolean;
}

/** What INFO reports of the server as a whole. */
export interface ServerInfo {
  readonly port: number;
  readonly startedAt: number;
  readonly connections: () => number;
}

/** Argument k as a string (latin1: one character per byte). */
const arg = (c: Call, k: number) => c.p.source.toString('latin1', c.p.argStart[k], c.p.argEnd[k]);
const upper = (c: Call, k: number) => arg(c, k).toUpperCase();
/** Argument k as a signed 64-bit integer, written as redis-server accepts one (no sign, space or leading 0). */
function int64(c: Call, k: number): bigint | undefined {
  return parseInt64(c.p.source, c.p.argStart[k]!, c.p.argEnd[k]!);
}
function parseInt64(b: Buffer, start: number, end: number): bigint | undefined {
  if (end - start > 20 || !/^(0|-?[1-9][0-9]*)$/.test(b.toString('latin1', start, end))) return undefined;
  const n = BigInt(b.toString('latin1', start, end));
  return n >= INT64_MIN && n <= INT64_MAX ? n : undefined;
}
const nil = (c: Call) => (c.resp === 3 ? '_\r\n' : '$-1\r\n');
const integer = (n: number | bigint) => `:${n}\r\n`;

// ---------------------------------------------------------------------------------------------
// Strings

function get(c: Call) {
  c.out.write(c.store.get(c.p.source, c.p.argStart[1]!, c.p.argEnd[1]!) ?? nil(c));
}

/** SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL] */
function set(c: Call) {
  let [nx, xx, getOld, keepTtl] = [false, false, false, false];
  let expiry: { unit: string; value: number } | undefined;
  for (let k = 3; k < c.p.argc; k++) {
    const option = upper(c, k);
    if (option === 'NX' && !xx) nx = true;
    else if (option === 'XX' && !nx) xx = true;
    else if (option === 'GET') getOld = true;
    else if (option === 'KEEPTTL' && expiry === undefined) keepTtl = true;
    else if (/^(EX|PX|EXAT|PXAT)$/.test(option) && expiry === undefined && !keepTtl && k + 1 < c.p.argc)
      expiry = { unit: option, value: ++k };
    else return c.out.write(SYNTAX_ERROR);
  }
  let expiresAt = 0;
  if (expiry !== undefined) {
    const at = expiryTime(c, expiry.value, expiry.unit, 'set');
    if (at === undefined) return;
    expiresAt = at;
  }
  const { source: src, argStart: start, argEnd: end } = c.p;
  const old = c.store.entry(src, start[1]!, end[1]!);
  if (getOld) c.out.write(old?.value ?? nil(c));
  if ((nx && old !== undefined) || (xx && old === undefined)) {
    if (!getOld) c.out.write(nil(c));
    return;
  }
  if (keepTtl && old !== undefined) expiresAt = old.expiresAt;
  const n = end[2]! - start[2]!;
  if (old !== undefined && !getOld && old.value.length === digitsOf(n) + n + 5) {
    // As long as the value it replaces: written over it, no garbage per SET (a GET's reply is a
    // copy, so no reply already written sees the bytes change).
    copyBytes(src, start[2]!, end[2]!, old.value, old.value.length - 2 - n);
    c.store.setExpiry(old, expiresAt);
  } else {
    c.store.set(src, start[1]!, end[1]!, bulk(src, start[2], end[2]), expiresAt);
  }
  if (expiresAt !== 0 && expiresAt <= Date.now()) c.store.delete(src, start[1]!, end[1]!); // EXAT / PXAT in the past
  if (!getOld) c.out.write(OK);
}

/** Decimal digits of n >= 0 (a bulk string's length header, without making the string). */
function digitsOf(n: number): number {
  let d = 1;
  for (; n >= 10; n = Math.floor(n / 10)) d++;
  return d;
}

/** The absolute time in Date.now() milliseconds that argument k asks for, or undefined (the error replied). */
function expiryTime(c: Call, k: number, unit: string, command: string): number | undefined {
  let n = int64(c, k);
  if (n === undefined) return void c.out.write(NOT_AN_INTEGER);
  const seconds = unit === 'EX' || unit === 'EXAT';
  if (n <= 0n || (seconds && n > INT64_MAX / 1000n)) return void c.out.write(`-ERR invalid expire time in '${command}' command\r\n`);
  if (seconds) n *= 1000n;
  if (unit === 'EX' || unit === 'PX') n += BigInt(Date.now());
  if (n > INT64_MAX) return void c.out.write(`-ERR invalid expire time in '${command}' command\r\n`);
  return Number(n);
}

function mget(c: Call) {
  c.out.write(`*${c.p.argc - 1}\r\n`);
  for (let k = 1; k < c.p.argc; k++) c.out.write(c.store.get(c.p.source, c.p.argStart[k]!, c.p.argEnd[k]!) ?? nil(c));
}

function mset(c: Call) {
  if (c.p.argc % 2 === 0) return c.out.write("-ERR wrong number of arguments for 'mset' command\r\n");
  const { source: src, argStart: start, argEnd: end } = c.p;
  for (let k = 1; k < c.p.argc; k += 2) c.store.set(src, start[k]!, end[k]!, bulk(src, start[k + 1], end[k + 1]));
  c.out.write(OK);
}

/** INCR, DECR, INCRBY, DECRBY: the value as a 64-bit integer plus `by`; the key keeps its time. */
function incrementBy(c: Call, by: bigint | undefined) {
  if (by === undefined) return c.out.write(NOT_AN_INTEGER);
  const { source: src, argStart: start, argEnd: end } = c.p;
  const entry = c.store.entry(src, start[1]!, end[1]!);
  let n = 0n;
  if (entry !== undefined) {
    const value = storedBytes(entry.value);
    const current = parseInt64(value, 0, value.length);
    if (current === undefined) return c.out.write(NOT_AN_INTEGER);
    n = current;
  }
  n += by;
  if (n < INT64_MIN || n > INT64_MAX) return c.out.write('-ERR increment or decrement would overflow\r\n');
  c.store.set(src, start[1]!, end[1]!, bulk(latin1(`${n}`)), entry?.expiresAt ?? 0);
  c.out.write(integer(n));
}

// ---------------------------------------------------------------------------------------------
// Keys and their time

function del(c: Call) {
  let deleted = 0;
  for (let k = 1; k < c.p.argc; k++) if (c.store.delete(c.p.source, c.p.argStart[k]!, c.p.argEnd[k]!)) deleted++;
  c.out.write(integer(deleted));
}

function exists(c: Call) {
  let found = 0;
  for (let k = 1; k < c.p.argc; k++) if (c.store.entry(c.p.source, c.p.argStart[k]!, c.p.argEnd[k]!) !== undefined) found++;
  c.out.write(integer(found));
}

/** EXPIRE / PEXPIRE key time [NX | XX | GT | LT] */
function expire(c: Call, unit: 'EX' | 'PX', command: string) {
  const flags = new Set<string>();
  for (let k = 3; k < c.p.argc; k++) {
    const flag = upper(c, k);
    if (!/^(NX|XX|GT|LT)$/.test(flag)) return c.out.write(`-ERR Unsupported option ${arg(c, k)}\r\n`);
    flags.add(flag);
  }
  if (flags.has('NX') && flags.size > 1) return c.out.write('-ERR NX and XX, GT or LT options at the same time are not compatible\r\n');
  if (flags.has('GT') && flags.has('LT')) return c.out.write('-ERR GT and LT options at the same time are not compatible\r\n');
  let when = int64(c, 2);
  if (when === undefined) return c.out.write(NOT_AN_INTEGER);
  const now = BigInt(Date.now());
  if (unit === 'EX') {
    if (when > INT64_MAX / 1000n || when < INT64_MIN / 1000n) return c.out.write(`-ERR invalid expire time in '${command}' command\r\n`);
    when *= 1000n;
  }
  if (when > INT64_MAX - now) return c.out.write(`-ERR invalid expire time in '${command}' command\r\n`);
  when += now;
  const { source: src, argStart: start, argEnd: end } = c.p;
  const entry = c.store.entry(src, start[1]!, end[1]!);
  if (entry === undefined) return c.out.write(integer(0));
  const current = entry.expiresAt === 0 ? undefined : BigInt(entry.expiresAt);
  const refused =
    (flags.has('NX') && current !== undefined) ||
    (flags.has('XX') && current === undefined) ||
    (flags.has('GT') && (current === undefined || when <= current)) ||
    (flags.has('LT') && current !== undefined && when >= current);
  if (refused) return c.out.write(integer(0));
  if (when <= now) c.store.delete(src, start[1]!, end[1]!);
  else c.store.setExpiry(entry, Number(when));
  c.out.write(integer(1));
}

/** TTL (seconds, rounded) or PTTL: -2 for a missing key, -1 for one that never expires. */
function ttl(c: Call, milliseconds: boolean) {
  const entry = c.store.entry(c.p.source, c.p.argStart[1]!, c.p.argEnd[1]!);
  if (entry === undefined) return c.out.write(integer(-2));
  if (entry.expiresAt === 0) return c.out.write(integer(-1));
  const left = Math.max(0, entry.expiresAt - Date.now());
  c.out.write(integer(milliseconds ? left : Math.floor((left + 500) / 1000)));
}

function persist(c: Call) {
  const entry = c.store.entry(c.p.source, c.p.argStart[1]!, c.p.argEnd[1]!);
  if (entry === undefined || entry.expiresAt === 0) return c.out.write(integer(0));
  c.store.setExpiry(entry, 0);
  c.out.write(integer(1));
}

function flush(c: Call) {
  if (c.p.argc > 2 || (c.p.argc === 2 && !/^(SYNC|ASYNC)$/.test(upper(c, 1)))) return c.out.write(SYNTAX_ERROR);
  c.store.clear();
  c.out.write(OK);
}

// ---------------------------------------------------------------------------------------------
// The session: protocol, names, database

/** HELLO [protover [AUTH username password] [SETNAME name]] */
function hello(c: Call) {
  let resp = c.resp;
  if (c.p.argc >= 2) {
    const version = int64(c, 1);
    if (version === undefined) return c.out.write('-ERR Protocol version is not an integer or out of range\r\n');
    if (version !== 2n && version !== 3n) return c.out.write('-NOPROTO unsupported protocol version\r\n');
    resp = Number(version) as 2 | 3;
  }
  let name = c.name;
  for (let k = 2; k < c.p.argc; k++) {
    const option = upper(c, k);
    const more = c.p.argc - 1 - k;
    if (option === 'AUTH' && more >= 2) {
      // No password is configured: the default user takes any, as redis-server's `nopass` does.
      if (arg(c, k + 1) !== 'default') return c.out.write('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
      k += 2;
    } else if (option === 'SETNAME' && more >= 1) {
      name = arg(c, ++k);
      if (!validName(c, name)) return;
    } else {
      return c.out.write(`-ERR Syntax error in HELLO option '${clean(arg(c, k))}'\r\n`);
    }
  }
  c.resp = resp;
  c.name = name;
  const fields: [string, string | number | []][] = [
    ['server', 'redis'],
    ['version', VERSION],
    ['proto', resp],
    ['id', c.id],
    ['mode', 'standalone'],
    ['role', 'master'],
    ['modules', []],
  ];
  c.out.write(resp === 3 ? `%${fields.length}\r\n` : `*${2 * fields.length}\r\n`);
  for (const [key, value] of fields) {
    c.out.write(`$${key.length}\r\n${key}\r\n`);
    c.out.write(typeof value === 'number' ? integer(value) : typeof value === 'string' ? `$${value.length}\r\n${value}\r\n` : '*0\r\n');
  }
}

/** A client name: no spaces, newlines or other special characters, as redis-server requires. */
function validName(c: Call, name: string): boolean {
  if (/^[!-~]*$/.test(name)) return true;
  c.out.write('-ERR Client names cannot contain spaces, newlines or special characters.\r\n');
  return false;
}

/** CLIENT SETINFO | SETNAME | GETNAME | ID: what client libraries send on connect. */
function client(c: Call) {
  const sub = upper(c, 1);
  if (sub === 'SETINFO' && c.p.argc === 4) {
    const attribute = upper(c, 2);
    if (attribute !== 'LIB-NAME' && attribute !== 'LIB-VER') return c.out.write(`-ERR Unrecognized option '${clean(arg(c, 2))}'\r\n`);
    c.out.write(OK); // the library's name and version: nothing here reports them
  } else if (sub === 'SETNAME' && c.p.argc === 3) {
    const name = arg(c, 2);
    if (validName(c, name)) {
      c.name = name === '' ? undefined : name;
      c.out.write(OK);
    }
  } else if (sub === 'GETNAME' && c.p.argc === 2) {
    c.out.write(c.name === undefined ? nil(c) : bulk(latin1(c.name)));
  } else if (sub === 'ID' && c.p.argc === 2) {
    c.out.write(integer(c.id));
  } else if (/^(SETINFO|SETNAME|GETNAME|ID)$/.test(sub)) {
    c.out.write(`-ERR wrong number of arguments for 'client|${sub.toLowerCase()}' command\r\n`);
  } else {
    c.out.write(`-ERR unknown subcommand '${clean(arg(c, 1))}'. Try CLIENT HELP.\r\n`);
  }
}

function quit(c: Call) {
  c.quit = true;
  c.out.write(OK);
}

/** SELECT: this server has one database, 0. */
function select(c: Call) {
  const db = int64(c, 1);
  if (db === undefined) return c.out.write(NOT_AN_INTEGER);
  if (db < -(2n ** 31n) || db >= 2n ** 31n)
    return c.out.write('-ERR value is out of range, value must between -2147483648 and 2147483647\r\n');
  c.out.write(db === 0n ? OK : '-ERR DB index is out of range\r\n');
}

// ---------------------------------------------------------------------------------------------
// The server

/** INFO [section ...]: what clients read (ioredis waits for `loading:0`) and a section of the pool's. */
function info(c: Call) {
  const wanted = Array.from({ length: c.p.argc - 1 }, (_, k) => arg(c, k + 1).toLowerCase());
  const all = wanted.length === 0 || wanted.some((w) => w === 'all' || w === 'everything' || w === 'default');
  const stats = c.pool?.stats();
  const sections: Record<string, [string, string | number][]> = {
    server: [
      ['redis_version', VERSION],
      ['redis_mode', 'standalone'],
      ['process_id', process.pid],
      ['tcp_port', c.server.port],
      ['uptime_in_seconds', Math.floor((Date.now() - c.server.startedAt) / 1000)],
      ['executable', 'riopool examples/redis-server'],
    ],
    clients: [['connected_clients', c.server.connections()]],
    memory: [['used_memory', process.memoryUsage().heapUsed]],
    persistence: [['loading', 0]],
    keyspace: c.store.size > 0 ? [['db0', `keys=${c.store.size},expires=${c.store.expiring},avg_ttl=0`]] : [],
    riopool: stats
      ? [
          ['riopool_datapath', stats.io.datapath],
          ['riopool_backend', stats.backend],
          ['riopool_leased', stats.totals.leased],
        ]
      : [],
  };
  const text = Object.entries(sections)
    .filter(([name]) => all || wanted.includes(name))
    .map(([name, lines]) => `# ${name[0]!.toUpperCase()}${name.slice(1)}\r\n${lines.map(([k, v]) => `${k}:${v}\r\n`).join('')}`)
    .join('\r\n');
  // RESP3 sends it as a verbatim string of format `txt`, as redis-server does.
  c.out.write(c.resp === 3 ? `=${text.length + 4}\r\ntxt:${text}\r\n` : `$${text.length}\r\n${text}\r\n`);
}

function riopool(c: Call) {
  const what = upper(c, 1);
  if (c.pool === undefined || (what !== 'FOOTPRINT' && what !== 'STATS')) return c.out.write(SYNTAX_ERROR);
  c.out.write(bulk(Buffer.from(JSON.stringify(what === 'STATS' ? c.pool.stats() : c.pool.footprint()))));
}

/** A command: the arguments it takes, its name included (negative: at least that many), and what it does. */
interface Command {
  readonly arity: number;
  readonly run: (c: Call) => void;
}

/** Each command by name. */
const COMMANDS: Record<string, Command> = {
  GET: { arity: 2, run: get },
  SET: { arity: -3, run: set },
  MGET: { arity: -2, run: mget },
  MSET: { arity: -3, run: mset },
  INCR: { arity: 2, run: (c) => incrementBy(c, 1n) },
  DECR: { arity: 2, run: (c) => incrementBy(c, -1n) },
  INCRBY: { arity: 3, run: (c) => incrementBy(c, int64(c, 2)) },
  DECRBY: {
    arity: 3,
    run: (c) => {
      const by = int64(c, 2);
      if (by === INT64_MIN) return c.out.write('-ERR decrement would overflow\r\n');
      incrementBy(c, by === undefined ? undefined : -by);
    },
  },
  DEL: { arity: -2, run: del },
  EXISTS: { arity: -2, run: exists },
  EXPIRE: { arity: -3, run: (c) => expire(c, 'EX', 'expire') },
  PEXPIRE: { arity: -3, run: (c) => expire(c, 'PX', 'pexpire') },
  TTL: { arity: 2, run: (c) => ttl(c, false) },
  PTTL: { arity: 2, run: (c) => ttl(c, true) },
  PERSIST: { arity: 2, run: persist },
  DBSIZE: { arity: 1, run: (c) => c.out.write(integer(c.store.size)) },
  FLUSHDB: { arity: -1, run: flush },
  FLUSHALL: { arity: -1, run: flush },
  PING: {
    arity: -1,
    run: (c) =>
      c.p.argc > 2
        ? wrongArguments(c, 'ping')
        : c.out.write(c.p.argc === 2 ? bulk(c.p.source, c.p.argStart[1], c.p.argEnd[1]) : '+PONG\r\n'),
  },
  ECHO: { arity: 2, run: (c) => c.out.write(bulk(c.p.source, c.p.argStart[1], c.p.argEnd[1])) },
  QUIT: { arity: -1, run: quit },
  HELLO: { arity: -1, run: hello },
  CLIENT: { arity: -2, run: client },
  SELECT: { arity: 2, run: select },
  INFO: { arity: -1, run: info },
  COMMAND: { arity: -1, run: (c) => c.out.write('*0\r\n') },
  CONFIG: { arity: -2, run: (c) => c.out.write(c.resp === 3 ? '%0\r\n' : '*0\r\n') },
  RIOPOOL: { arity: 2, run: riopool },
};

/** Command names up to 6 bytes, case folded, as one number: most requests find their command with no string made. */
function nameKey(b: Uint8Array, start = 0, end = b.length): number {
  let key = 0;
  for (let i = start; i < end; i++) key = key * 256 + (b[i]! | 0x20);
  return key;
}
/**
 * The commands by name, each with its name in lower case (for errors), and those of up to 6 bytes
 * by nameKey. Maps, not COMMANDS itself: a lookup in an object of some 30 properties by a name that
 * varies is a megamorphic keyed load (perf: 0.8% of the ring server's CPU at `-P 16`; gone with the
 * maps).
 */
type Named = Command & { readonly lower: string };
const BY_NAME = new Map<string, Named>(Object.entries(COMMANDS).map(([name, c]) => [name, { ...c, lower: name.toLowerCase() }]));
const SHORT_NAMES = new Map<number, Named>(
  [...BY_NAME].flatMap(([name, c]) => (name.length <= 6 ? [[nameKey(latin1(name)), c] as const] : [])),
);

/** An argument as redis-server quotes it in an error: newlines made spaces. */
const clean = (s: string) => s.replace(/[\r\n]/g, ' ');
const wrongArguments = (c: Call, name: string) => c.out.write(`-ERR wrong number of arguments for '${name}' command\r\n`);

/** Runs the request `c.p` read last, writing its reply into `c.out`. */
function execute(c: Call): void {
  const { source: src, argStart: start, argEnd: end } = c.p;
  const short = end[0]! - start[0]! <= 6 ? SHORT_NAMES.get(nameKey(src, start[0]!, end[0]!)) : undefined;
  const command = short ?? BY_NAME.get(upper(c, 0));
  if (command === undefined) {
    // As redis-server words it: the name, then the first arguments, up to about 128 characters.
    let args = '';
    for (let k = 1; k < c.p.argc && args.length < 128; k++) args += `'${arg(c, k).slice(0, 128 - args.length)}' `;
    c.out.write(`-ERR unknown command '${clean(arg(c, 0).slice(0, 128))}', with args beginning with: ${clean(args)}\r\n`);
  } else if (command.arity > 0 ? c.p.argc !== command.arity : c.p.argc < -command.arity) {
    wrongArguments(c, command.lower);
  } else {
    command.run(c);
  }
}

// ---------------------------------------------------------------------------------------------
// A connection

/** How replies leave (write keeps its own reference until sent; false: pause until 'drain') and the close. A Connection is one. */
export type SessionIo<T> = { write(reply: T): boolean; pause(): void; end(): void };

let sessions = 0;
const NO_SERVER: ServerInfo = { port: 0, startedAt: Date.now(), connections: () => 0 };

/** One client: requests run as they arrive, and each receive's replies go out in one send. */
export class Session<T extends { release(): void }> {
  readonly #pending = new ReceiveBuffer({ maxBytes: MAX_BULK + 1024 * 1024 });
  readonly #call: Call;
  #stopped = false;

  constructor(private readonly to: { store: KeyStore; out: Writer<T>; io: SessionIo<T>; pool?: Pool; server?: ServerInfo }) {
    const { store, out, pool, server = NO_SERVER } = to;
    this.#call = { p: new RespParser(MAX_BULK), store, out, pool, server, id: ++sessions, resp: 2, name: undefined, quit: false };
  }

  data(input: Lease | Uint8Array): void {
    let view = EMPTY;
    try {
      view = this.#pending.append(input); // throws for a request over maxBytes
    } catch {
      this.to.out.write('-ERR Protocol error: too big request\r\n');
      this.#stopped = true;
    }
    const c = this.#call;
    let at = 0;
    while (at < view.length && !this.#stopped) {
      const parsed = c.p.parse(view, at, view.length);
      if (parsed === 'incomplete') break;
      if (parsed === 'error') this.to.out.write(`-${c.p.error}\r\n`);
      else if (c.p.argc > 0) execute(c);
      this.#stopped = parsed === 'error' || c.quit;
      at = c.p.next;
    }
    this.#pending.consume(this.#stopped ? this.#pending.length : at); // after QUIT or an error: all, unread
    if (!this.#stopped && c.p.need > 0) this.#pending.reserve(c.p.need); // a big value: room at once
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

// ---------------------------------------------------------------------------------------------
// The server

/** Listens on `port` (0: any free one) on `datapath` (default: the best the pool can run); close() ends every connection, then closes the pool. */
export async function startRedisServer(
  options: { port?: number; host?: string; datapath?: 'auto' | 'uring' | 'net'; poolOptions?: PoolOptions } = {},
) {
  const pool = createPool(options.poolOptions);
  const store = new KeyStore();
  const info = { port: 0, startedAt: Date.now(), connections: () => server.connections };
  const server = createServer(pool, { datapath: options.datapath ?? 'auto' }, (conn) => {
    const session = new Session<Lease>({ store, out: new LeaseWriter(pool), io: conn, pool, server: info });
    conn.on('data', (lease: Lease) => session.data(lease));
    conn.on('drain', () => conn.resume()).on('finish', () => conn.destroy()); // paused until drained; closed once ended
    conn.on('error', () => {}).on('close', session.close); // an error (a peer's reset): the connection closes on its own
  });
  const { port } = await server.listen({ port: options.port ?? 6390, host: options.host ?? '127.0.0.1' });
  info.port = port;
  // Keys past their time that no command looks at again: up to 1,000 looked at every 100 ms.
  const sweeper = setInterval(() => store.sweep(Date.now()), 100).unref();
  const close = () => {
    clearInterval(sweeper);
    return server[Symbol.asyncDispose]().then(() => pool.close()); // connections destroyed, then the pool
  };
  return { pool, port, server, store, close };
}

if (require.main === module) {
  void startRedisServer({ port: Number(process.argv[2] ?? 6390) }).then(({ pool, port, close }) => {
    const { io, backend } = pool.stats();
    console.log(`riopool redis example on 127.0.0.1:${port} (io ${io.datapath}, receive ${io.receive}, backend ${backend})`);
    process.on('SIGINT', () => void close()).on('SIGTERM', () => void close());
  });
}
