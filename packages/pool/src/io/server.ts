/**
 * Server and connect(): the public entry points of registered I/O.
 *
 *   const server = createServer(pool, { datapath: 'auto' }, (conn) => { conn.on('data', ...) });
 *   const { port } = await server.listen({ port: 6379, host: '127.0.0.1' });
 *   const client = await connect(pool, { port, host: '127.0.0.1' });
 *
 * The datapath is chosen once per pool (io.ts) and reported by pool.stats().io.
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { RioError } from '@riopool/core';
import { adoptSocket } from '../net';
import { allocatorOf, type Pool } from '../pool';
import { Connection, netError, type ConnectionOptions, type Transport } from './connection';
import { ioOf, type Datapath } from './io';
import { NetTransport } from './transport-net';

export interface IoOptions extends ConnectionOptions {
  /** 'auto' (default): uring where the pool's backend is uring and the ring can do I/O, else net. */
  datapath?: Datapath | 'auto';
  /** Bytes per receive lease; default 16 KiB. */
  receiveSize?: number;
}

export interface ListenOptions {
  port?: number;
  host?: string;
  backlog?: number;
}

export interface AddressInfo {
  port: number;
  host: string;
}

function checkOptions(options: IoOptions, pool: Pool): Required<Pick<IoOptions, 'receiveSize'>> {
  if (options === null || typeof options !== 'object') throw new RioError('ERR_RIO_INVALID_OPTION', 'options must be an object');
  const receiveSize = options.receiveSize ?? 16 * 1024;
  const max = allocatorOf(pool).maxLength;
  if (typeof receiveSize !== 'number' || !Number.isInteger(receiveSize) || receiveSize < 1 || receiveSize > max) {
    throw new RioError('ERR_RIO_INVALID_LENGTH', `receiveSize must be an integer from 1 to ${max}`);
  }
  const hwm = options.highWaterMark;
  if (hwm !== undefined && (typeof hwm !== 'number' || !(hwm >= 0)))
    throw new RioError('ERR_RIO_INVALID_OPTION', 'highWaterMark must be a number >= 0');
  return { receiveSize };
}

export class Server extends EventEmitter {
  readonly #pool: Pool;
  readonly #options: IoOptions;
  readonly #receiveSize: number;
  readonly #connections = new Set<Connection>();
  #net: net.Server | undefined;
  #stopUring: (() => Promise<void>) | undefined;
  #address: AddressInfo | null = null;

  constructor(pool: Pool, options: IoOptions, onConnection?: (conn: Connection) => void) {
    super();
    this.#receiveSize = checkOptions(options, pool).receiveSize;
    this.#pool = pool;
    this.#options = options;
    if (onConnection !== undefined) this.on('connection', onConnection);
  }

  /** Connections open now. */
  get connections(): number {
    return this.#connections.size;
  }

  address(): AddressInfo | null {
    return this.#address;
  }

  /** Starts listening; resolves with the address (port 0 picks a free port); rejects with a RioError. */
  listen(options: ListenOptions = {}): Promise<AddressInfo> {
    try {
      return this.#listen(options);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #listen(options: ListenOptions): Promise<AddressInfo> {
    if (this.#net !== undefined || this.#stopUring !== undefined) {
      return Promise.reject(new RioError('ERR_RIO_INVALID_OPTION', 'listen: the server is already listening'));
    }
    const io = ioOf(this.#pool, this.#options.datapath ?? 'auto');
    const host = options.host ?? '127.0.0.1';
    if (io.datapath === 'uring') {
      return io
        .listen(this, host, options.port ?? 0, options.backlog ?? 511, this.#receiveSize, (t) => this.#accepted(t))
        .then(({ address, stop }) => {
          this.#stopUring = stop;
          this.#address = address;
          return address;
        });
    }
    // allowHalfOpen: the Connection, not node:net, decides when to end its side (connection.ts).
    const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (accepted) => {
      this.#accepted(new NetTransport(this.#pool, this.#receiveSize, (reader) => adoptSocket(accepted, reader)));
    });
    this.#net = server;
    return new Promise((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(netError(e.code, `listen: ${e.message}`, e)));
      server.listen({ port: options.port ?? 0, host, backlog: options.backlog }, () => {
        server.on('error', (e: NodeJS.ErrnoException) => this.emit('error', netError(e.code, e.message, e)));
        this.#address = { port: (server.address() as net.AddressInfo).port, host };
        resolve(this.#address);
      });
    });
  }

  /** Stops accepting; resolves once every connection has closed (end or destroy them). */
  close(): Promise<void> {
    const waitAll = () =>
      Promise.all([...this.#connections].map((c) => (c.closed ? undefined : new Promise((r) => c.once('close', r))))).then(() => undefined);
    const server = this.#net;
    const stopUring = this.#stopUring;
    this.#net = undefined;
    this.#stopUring = undefined;
    this.#address = null;
    if (stopUring !== undefined) return stopUring().then(waitAll);
    if (server === undefined) return waitAll();
    return new Promise<void>((r) => server.close(() => r())).then(waitAll);
  }

  #accepted(transport: Transport): void {
    const conn = new Connection(transport, allocatorOf(this.#pool), this.#options);
    this.#connections.add(conn);
    conn.once('close', () => this.#connections.delete(conn));
    this.emit('connection', conn);
  }
}

export function createServer(pool: Pool, options: IoOptions = {}, onConnection?: (conn: Connection) => void): Server {
  return new Server(pool, options, onConnection);
}

/** Connects to host:port; resolves with the connection once it is established. */
export function connect(pool: Pool, to: { port: number; host?: string }, options: IoOptions = {}): Promise<Connection> {
  try {
    return connectNow(pool, to, options);
  } catch (e) {
    return Promise.reject(e);
  }
}

function connectNow(pool: Pool, to: { port: number; host?: string }, options: IoOptions): Promise<Connection> {
  const { receiveSize } = checkOptions(options, pool);
  const host = to.host ?? '127.0.0.1';
  const io = ioOf(pool, options.datapath ?? 'auto');
  if (io.datapath === 'uring') return io.connect(host, to.port, receiveSize).then((t) => new Connection(t, allocatorOf(pool), options));
  return new Promise((resolve, reject) => {
    let settled = false;
    const transport = new NetTransport(pool, receiveSize, (reader) => {
      const onread = { buffer: reader.buffer, callback: reader.callback } as net.OnReadOpts;
      const socket = net.connect({ host, port: to.port, onread, allowHalfOpen: true });
      socket.once('connect', () => {
        settled = true;
        resolve(conn);
      });
      socket.once('error', (e: NodeJS.ErrnoException) => {
        if (!settled) {
          settled = true;
          reject(netError(e.code, `connect ${host}:${to.port}: ${e.message}`, e));
        }
      });
      return socket;
    });
    const conn = new Connection(transport, allocatorOf(pool), options);
  });
}
